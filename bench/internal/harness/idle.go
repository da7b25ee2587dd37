package harness

import (
	"context"
	"fmt"
	"time"

	"wisp/bench/internal/idle"
	"wisp/bench/internal/results"
	"wisp/bench/internal/targets"
)

// idleTargets are the targets the idle test covers: every proxy except the
// TCP-upstream variants, whose client side is the same as the UDS ones',
// plus the Go net/http backend as a reference.
func (b *bench) idleTargets() []targets.Target {
	var out []targets.Target
	for _, t := range b.targets {
		if t.Kind != targets.Direct && !t.TCPUpstream {
			out = append(out, t)
		}
	}
	return append(out, targets.IdleReference(b.cfg.BasePort))
}

// idlePhase measures the RSS a fresh instance of each target grows by
// while it holds IdleConns idle keep-alive client connections.
func (b *bench) idlePhase(ctx context.Context) error {
	b.log.Info("idle-connection memory test", "conns", b.cfg.IdleConns, "reps", b.cfg.IdleReps)
	for _, t := range b.idleTargets() {
		for rep := 1; rep <= b.cfg.IdleReps; rep++ {
			r, err := b.idleRep(ctx, t, rep)
			if err != nil {
				return err
			}
			m := b.memoryOf(t.Name)
			m.Idle = append(m.Idle, r)
			b.log.Info(fmt.Sprintf("idle %-10s rep %d: RSS %d kB -> %d kB with %d/%d conns (%.1f KiB/conn), %d alive at the end",
				t.Name, rep, r.BeforeKB, r.AfterKB, r.Open, r.Asked, r.PerConnKiB(), r.AliveAtEnd))
		}
	}
	return nil
}

func (b *bench) idleRep(ctx context.Context, t targets.Target, rep int) (results.IdleRep, error) {
	p, err := b.startTarget(ctx, t, fmt.Sprintf("-idle%d", rep))
	if err != nil {
		return results.IdleRep{}, err
	}
	defer b.procs.stop(p)
	addr := b.addr(t)
	// A little traffic first, so that the baseline includes what the first
	// requests allocate once (pools, worker start-up).
	warm, err := idle.Open(ctx, addr, b.clientTLS(), 20, 20, "/small")
	if err != nil {
		return results.IdleRep{}, err
	}
	warm.Close()
	if err := sleep(ctx, time.Second); err != nil {
		return results.IdleRep{}, err
	}
	rss := func() int64 { return b.proc.Status(b.proc.Tree(p.pid()), "VmRSS").SumKB }
	r := results.IdleRep{BeforeKB: rss(), Asked: b.cfg.IdleConns}
	pool, err := idle.Open(ctx, addr, b.clientTLS(), b.cfg.IdleConns, 32, "/small")
	if err != nil {
		return results.IdleRep{}, err
	}
	defer pool.Close()
	if pool.FirstErr != nil {
		b.log.Warn("idle connections failed", "target", t.Name, "failed", pool.Failed, "first error", pool.FirstErr)
	}
	// Let the target settle (lazy frees, GC) before reading its RSS.
	if err := sleep(ctx, 2*time.Second); err != nil {
		return results.IdleRep{}, err
	}
	r.AfterKB, r.Open = rss(), pool.Len()
	r.AliveAtEnd, _ = pool.Alive()
	return r, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
