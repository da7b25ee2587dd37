package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestReportShowsGhostRatiosScaleRatiosAndMissingPages(t *testing.T) {
	small := &result{posts: 1000, idleKB: 20 << 10, peakKB: 30 << 10, coldMs: []float64{100, 120, 110}, seedTime: 2 * time.Second,
		pages: []page{
			{name: "home", path: "/", status: 200, rps: []float64{10000, 10600, 9000}, p50: []float64{2, 2, 2}, p99: []float64{8, 10, 9}, firstMs: 5},
			{name: "sitemap", path: "/sitemap.xml", status: 404},
		}}
	big := &result{posts: 100000, idleKB: 22 << 10, peakKB: 80 << 10, coldMs: []float64{400},
		pages: []page{
			{name: "home", path: "/", status: 200, rps: []float64{5300}, p50: []float64{4}, p99: []float64{27}, firstMs: 50},
			{name: "sitemap", path: "/sitemap.xml", status: 404},
		}}
	var buf bytes.Buffer
	report(&buf, config{threads: 2, conns: 32, duration: 10 * time.Second, rounds: 3, colds: 5}, time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC), []*result{small, big})
	out := buf.String()
	for _, want := range []string{
		"NOT in this run",
		// median 10000 req/s against Ghost's 106
		"1000     home     /                                  10000    94.34     2.00     9.00      0       0.0      5.0",
		"1000     sitemap  /sitemap.xml                    HTTP 404",
		// 230 MiB / 20 MiB idle, 540 / 30 peak, 1900 / 110 ms cold start
		"1000              2.0          20.0    11.50          30.0    18.00           110.0    17.27",
		"100000         reused",
		// 100k against 1k: p50 4/2, p99 27/9, req/s 5300/10000, first 50/5
		"100000   home           2.00       3.00        0.53        10.00",
		"100000   sitemap           -          -           -            -",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
