package stats

import (
	"math"
	"testing"
)

func same(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) < 1e-9
}

func TestMedian(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		name string
		in   []float64
		want float64
	}{
		{"empty is NaN", nil, nan},
		{"only NaN is NaN", []float64{nan, nan}, nan},
		{"one sample", []float64{7}, 7},
		{"odd count takes the middle", []float64{9, 1, 5}, 5},
		{"even count averages the middle two", []float64{4, 1, 3, 2}, 2.5},
		{"NaN samples are ignored", []float64{nan, 10, 30, nan, 20}, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Median(tc.in); !same(got, tc.want) {
				t.Fatalf("Median(%v) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestMedianDoesNotReorderItsInput(t *testing.T) {
	in := []float64{3, 1, 2}
	Median(in)
	if in[0] != 3 || in[1] != 1 || in[2] != 2 {
		t.Fatalf("input reordered to %v", in)
	}
}

func TestRatio(t *testing.T) {
	for _, tc := range []struct {
		a, b, want float64
	}{
		{50, 100, 0.5},
		{1, 0, math.NaN()},
		{math.NaN(), 1, math.NaN()},
		{1, math.NaN(), math.NaN()},
	} {
		if got := Ratio(tc.a, tc.b); !same(got, tc.want) {
			t.Errorf("Ratio(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestPairedRatio(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b map[int]float64
		want float64
	}{
		{"median of per-round ratios", map[int]float64{1: 100, 2: 200, 3: 90}, map[int]float64{1: 100, 2: 100, 3: 100}, 1.0},
		{"differs from the ratio of medians under drift",
			// a is always 10% faster than b in the same round, while the
			// machine slows down round by round.
			map[int]float64{1: 110, 2: 55, 3: 22}, map[int]float64{1: 100, 2: 50, 3: 20}, 1.1},
		{"rounds only one side has are skipped", map[int]float64{1: 10, 2: 30}, map[int]float64{2: 10, 3: 5}, 3},
		{"no common round is NaN", map[int]float64{1: 10}, map[int]float64{2: 10}, math.NaN()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := PairedRatio(tc.a, tc.b); !same(got, tc.want) {
				t.Fatalf("PairedRatio = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSpreadPct(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{90, 100, 110}, 20},
		{[]float64{5}, 0},
		{nil, math.NaN()},
		{[]float64{0, 0}, math.NaN()},
	} {
		if got := SpreadPct(tc.in); !same(got, tc.want) {
			t.Errorf("SpreadPct(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
