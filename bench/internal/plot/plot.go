// Package plot draws the benchmark's bar chart as a PNG with the standard
// library's image packages and a fixed bitmap font, so the harness needs no
// plotting dependency.
package plot

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"strconv"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// BarChart is grouped bars: one panel per group (a request path), one bar
// per series (a proxy) in each panel. Every panel has its own y scale,
// because a 60-byte response runs at tens of thousands of requests per
// second and a 1 MiB one at a few thousand; on a shared scale the latter
// would vanish.
type BarChart struct {
	Title  string
	YLabel string
	XLabel string
	Groups []string
	Series []string
	// Values[s][g] is series s in group g; NaN draws no bar (not measured).
	Values [][]float64
}

const (
	textH     = 13 // basicfont.Face7x13 line height
	charW     = 7
	marginTop = 44
	marginBot = 56
	axisW     = 48 // room left of each panel for its tick labels
	panelGap  = 16
	legendPad = 14
	swatch    = 12
)

func (c BarChart) validate(width, height int) error {
	if len(c.Groups) == 0 || len(c.Series) == 0 {
		return errors.New("plot: need at least one group and one series")
	}
	if len(c.Values) != len(c.Series) {
		return fmt.Errorf("plot: %d value rows for %d series", len(c.Values), len(c.Series))
	}
	for i, row := range c.Values {
		if len(row) != len(c.Groups) {
			return fmt.Errorf("plot: series %q has %d values for %d groups", c.Series[i], len(row), len(c.Groups))
		}
		for _, v := range row {
			if v < 0 || math.IsInf(v, 0) {
				return fmt.Errorf("plot: series %q has the value %v, want a finite value >= 0", c.Series[i], v)
			}
		}
	}
	minW := c.legendWidth() + len(c.Groups)*(axisW+panelGap+2*len(c.Series)+8)
	if width < minW || height < marginTop+marginBot+60 {
		return fmt.Errorf("plot: %dx%d is too small for %d groups of %d bars (need at least %dx%d)",
			width, height, len(c.Groups), len(c.Series), minW, marginTop+marginBot+60)
	}
	return nil
}

func (c BarChart) legendWidth() int {
	w := 0
	for _, s := range c.Series {
		w = max(w, len(s))
	}
	return w*charW + swatch + 3*legendPad
}

// Render draws the chart.
func (c BarChart) Render(width, height int) (*image.RGBA, error) {
	if err := c.validate(width, height); err != nil {
		return nil, err
	}
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	fill(img, img.Bounds(), color.White)
	black := color.Black

	text(img, (width-len(c.Title)*charW)/2, 8+textH, c.Title, black)
	plotRight := width - c.legendWidth()
	text(img, (plotRight-len(c.XLabel)*charW)/2, height-10, c.XLabel, black)

	panelW := (plotRight - panelGap) / len(c.Groups)
	top, bottom := marginTop, height-marginBot
	for g, name := range c.Groups {
		x0 := g*panelW + axisW + panelGap
		x1 := (g+1)*panelW - 4
		c.drawPanel(img, g, image.Rect(x0, top, x1, bottom))
		text(img, x0+(x1-x0-len(name)*charW)/2, bottom+6+textH, name, black)
	}
	text(img, panelGap, top-8, c.YLabel, black)

	// Legend, top right.
	lx := plotRight + legendPad
	for s, name := range c.Series {
		y := top + s*(textH+6)
		fill(img, image.Rect(lx, y, lx+swatch, y+swatch), seriesColor(s))
		text(img, lx+swatch+6, y+swatch-1, name, black)
	}
	return img, nil
}

func (c BarChart) drawPanel(img *image.RGBA, g int, r image.Rectangle) {
	maxV := 0.0
	for s := range c.Series {
		if v := c.Values[s][g]; !math.IsNaN(v) {
			maxV = max(maxV, v)
		}
	}
	step := niceStep(maxV / 4)
	yMax := math.Ceil(maxV/step) * step
	if yMax == 0 {
		yMax = step
	}
	scale := func(v float64) int { return r.Max.Y - int(math.Round(v/yMax*float64(r.Dy()))) }

	grid := color.RGBA{225, 225, 225, 255}
	for v := 0.0; v <= yMax+step/2; v += step {
		y := scale(v)
		fill(img, image.Rect(r.Min.X, y, r.Max.X, y+1), grid)
		label := formatTick(v)
		text(img, r.Min.X-6-len(label)*charW, y+4, label, color.Black)
	}
	n := len(c.Series)
	slot := float64(r.Dx()) / float64(n)
	barW := max(1, int(slot*0.8))
	for s := range c.Series {
		v := c.Values[s][g]
		bx := r.Min.X + int(float64(s)*slot+(slot-float64(barW))/2)
		if math.IsNaN(v) {
			// a short grey tick marks "not measured", unlike a zero bar
			fill(img, image.Rect(bx, r.Max.Y-3, bx+barW, r.Max.Y), color.RGBA{160, 160, 160, 255})
			continue
		}
		fill(img, image.Rect(bx, scale(v), bx+barW, r.Max.Y), seriesColor(s))
	}
	// axes
	fill(img, image.Rect(r.Min.X-1, r.Min.Y, r.Min.X, r.Max.Y+1), color.Black)
	fill(img, image.Rect(r.Min.X-1, r.Max.Y, r.Max.X, r.Max.Y+1), color.Black)
}

// WritePNG renders the chart and encodes it as PNG.
func (c BarChart) WritePNG(w io.Writer, width, height int) error {
	img, err := c.Render(width, height)
	if err != nil {
		return err
	}
	return png.Encode(w, img)
}

// niceStep rounds x up to 1, 2 or 5 times a power of ten, for tick steps
// people can read.
func niceStep(x float64) float64 {
	if x <= 0 || math.IsNaN(x) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if x <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// formatTick writes 12000 as "12k" and 1500 as "1.5k".
func formatTick(v float64) string {
	if v >= 1000 {
		return strconv.FormatFloat(v/1000, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// seriesColor is a palette that stays distinguishable in print; it repeats
// after ten series.
func seriesColor(i int) color.RGBA {
	p := [...]color.RGBA{
		{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255},
		{148, 103, 189, 255}, {140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255},
		{188, 189, 34, 255}, {23, 190, 207, 255},
	}
	return p[i%len(p)]
}

func fill(img *image.RGBA, r image.Rectangle, c color.Color) {
	draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
}

// text draws s with its baseline at y.
func text(img *image.RGBA, x, y int, s string, c color.Color) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}
