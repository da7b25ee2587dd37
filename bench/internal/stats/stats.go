// Package stats holds the few summary statistics the benchmark reports:
// medians that ignore missing samples, and ratios paired by round.
package stats

import (
	"math"
	"slices"
)

// Median of the samples that are not NaN; NaN when there are none.
func Median(xs []float64) float64 {
	v := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// Ratio is a/b, NaN when b is zero or either side is missing.
func Ratio(a, b float64) float64 {
	if b == 0 || math.IsNaN(a) || math.IsNaN(b) {
		return math.NaN()
	}
	return a / b
}

// PairedRatio is the median over rounds of a[round]/b[round], taken only
// over the rounds both sides have. The two runs of a pair are seconds apart,
// so their ratio is robust against the slow drift of a shared machine that
// the ratio of medians is not.
func PairedRatio(a, b map[int]float64) float64 {
	var rs []float64
	for round, x := range a {
		if y, ok := b[round]; ok {
			rs = append(rs, Ratio(x, y))
		}
	}
	return Median(rs)
}

// SpreadPct is (max-min)/median in percent: how far apart the samples
// behind a median are.
func SpreadPct(xs []float64) float64 {
	m := Median(xs)
	if math.IsNaN(m) || m == 0 {
		return math.NaN()
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		if !math.IsNaN(x) {
			lo, hi = min(lo, x), max(hi, x)
		}
	}
	return (hi - lo) * 100 / m
}
