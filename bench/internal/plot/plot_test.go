package plot

import (
	"bytes"
	"image/png"
	"math"
	"strings"
	"testing"
)

func sample() BarChart {
	return BarChart{
		Title:  "req/s by proxy and path",
		YLabel: "req/s",
		XLabel: "request path",
		Groups: []string{"/small", "/page", "/big"},
		Series: []string{"nginx-ka", "haproxy", "caddy"},
		Values: [][]float64{{58000, 34000, 1500}, {59000, 35000, 2260}, {18000, math.NaN(), 2100}},
	}
}

func TestWritePNGDecodesAtTheRequestedSize(t *testing.T) {
	var buf bytes.Buffer
	if err := sample().WritePNG(&buf, 960, 480); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 960 || b.Dy() != 480 {
		t.Fatalf("size %v, want 960x480", b)
	}
}

func TestRenderDrawsBarsInSeriesColors(t *testing.T) {
	img, err := sample().Render(960, 480)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[int]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			for s := range 3 {
				if img.RGBAAt(x, y) == seriesColor(s) {
					counts[s]++
				}
			}
		}
	}
	// Every series has at least its legend swatch and one tall bar.
	for s := range 3 {
		if counts[s] < 2000 {
			t.Errorf("series %d: %d pixels in its color, want its bars drawn", s, counts[s])
		}
	}
}

func TestRenderRejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*BarChart)
		w, h   int
		want   string
	}{
		{"no groups", func(c *BarChart) { c.Groups = nil }, 960, 480, "at least one group"},
		{"rows do not match series", func(c *BarChart) { c.Values = c.Values[:2] }, 960, 480, "value rows"},
		{"row too short", func(c *BarChart) { c.Values[0] = c.Values[0][:1] }, 960, 480, "has 1 values"},
		{"negative value", func(c *BarChart) { c.Values[1][1] = -1 }, 960, 480, "finite value"},
		{"infinite value", func(c *BarChart) { c.Values[1][1] = math.Inf(1) }, 960, 480, "finite value"},
		{"too small", func(c *BarChart) {}, 100, 50, "too small"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := sample()
			tc.change(&c)
			_, err := c.Render(tc.w, tc.h)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Render: %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestNiceStepAndTicks(t *testing.T) {
	for _, tc := range []struct{ in, want float64 }{
		{0, 1}, {0.7, 1}, {3, 5}, {14500, 20000}, {1000, 1000}, {1001, 2000}, {60, 100},
	} {
		if got := niceStep(tc.in); got != tc.want {
			t.Errorf("niceStep(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct {
		in   float64
		want string
	}{{0, "0"}, {500, "500"}, {1500, "1.5k"}, {20000, "20k"}} {
		if got := formatTick(tc.in); got != tc.want {
			t.Errorf("formatTick(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
