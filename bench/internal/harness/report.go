package harness

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"wisp/bench/internal/plot"
	"wisp/bench/internal/results"
	"wisp/bench/internal/targets"
)

// report prints the tables, and writes them with the header to
// summary.txt and the plot to reqs.png in the results directory.
func (b *bench) report(stdout io.Writer, header string) error {
	names := make([]string, len(b.targets))
	proxyless := map[string]bool{}
	for i, t := range b.targets {
		names[i] = t.Name
		if t.Kind == targets.Direct {
			proxyless[t.Name] = true
		}
	}
	rep := results.Report{Baseline: baseline, Targets: names, Paths: b.cfg.Paths, NoisePct: b.cfg.NoisePct,
		IdleConns: b.cfg.IdleConns, Runs: b.runs, Memory: b.memory, Proxyless: proxyless}
	var tables bytes.Buffer
	rep.Write(&tables)
	if _, err := stdout.Write(tables.Bytes()); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(b.cfg.Out, "summary.txt"), append([]byte(header), tables.Bytes()...), 0o644); err != nil {
		return err
	}
	if len(b.runs) == 0 {
		return nil
	}
	chart := plot.BarChart{
		Title: fmt.Sprintf("req/s by proxy and path: median over rounds (%d) of wrk -t%d -c%d -d%s",
			b.cfg.Rounds, b.cfg.Threads, b.cfg.Conns, b.cfg.Duration),
		YLabel: "requests/s",
		XLabel: "request path (each panel has its own scale; grey stub = not measured)",
		Groups: b.cfg.Paths,
		Series: names,
	}
	cells := results.Summarize(b.runs, b.cfg.NoisePct)
	for _, name := range names {
		row := make([]float64, len(b.cfg.Paths))
		for i, p := range b.cfg.Paths {
			row[i] = math.NaN()
			if c, ok := cells[results.Key{Target: name, Path: p}]; ok {
				row[i] = c.RPS
			}
		}
		chart.Values = append(chart.Values, row)
	}
	path := filepath.Join(b.cfg.Out, "reqs.png")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := chart.WritePNG(f, 1200, 560); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	b.log.Info("results written", "dir", b.cfg.Out, "plot", path)
	return nil
}
