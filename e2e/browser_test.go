package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium, which scripts/test.sh installs.
const chromiumPath = "/usr/bin/chromium"

// browserProblems collects what the page reports that a reader would
// notice or a developer would see in the console: console errors,
// uncaught exceptions, failed requests and error responses.
type browserProblems struct {
	mu   sync.Mutex
	list []string
}

func (b *browserProblems) add(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.list = append(b.list, fmt.Sprintf(format, args...))
}

// take returns the problems so far and forgets them.
func (b *browserProblems) take() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	l := b.list
	b.list = nil
	return l
}

func (b *browserProblems) listen(ev any) {
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			b.add("console.%s: %s", ev.Type, strings.Join(parts, " "))
		}
	case *runtime.EventExceptionThrown:
		b.add("uncaught exception: %s at %s:%d", ev.ExceptionDetails.Text, ev.ExceptionDetails.URL, ev.ExceptionDetails.LineNumber)
	case *cdplog.EventEntryAdded:
		if ev.Entry.Level == cdplog.EntryLevelError {
			b.add("console error (%s): %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
		}
	case *network.EventLoadingFailed:
		b.add("request failed: %s (%s)", ev.ErrorText, ev.Type)
	case *network.EventResponseReceived:
		if ev.Response.Status >= 400 {
			b.add("HTTP %d for %s", ev.Response.Status, ev.Response.URL)
		}
	}
}

// browserSite starts `wisp serve` on a loopback TCP port over a site that
// `wisp dev seed` filled, and returns its base URL.
func browserSite(t *testing.T) string {
	t.Helper()
	dir := shortDir(t)
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	writeFile(t, filepath.Join(dir, "config.production.json"), fmt.Sprintf(
		`{"url": %q, "server": {"host": "127.0.0.1", "port": %d}}`, base+"/", port))
	if code, out := run(t, dir, nil, "", "dev", "seed", "--posts", "40", "--tags", "8", "--authors", "3"); code != 0 {
		t.Fatalf("wisp dev seed: exit %d\n%s", code, out)
	}
	p := start(t, dir, nil, "serve")
	waitFor(t, p, 10*time.Second, "the blog port", func() bool { return dialable("tcp", fmt.Sprintf("127.0.0.1:%d", port)) })
	return base
}

var postLinkRE = regexp.MustCompile(`<a[^>]+href="(http://127\.0\.0\.1:\d+/[a-z0-9-]+/)"`)

// TestBrowserPagesFitPhoneAndDesktopWithoutConsoleErrors loads the home
// page and a post in headless chromium at a phone and a desktop width. It
// fails (never skips) without chromium, as scripts/test.sh installs it.
func TestBrowserPagesFitPhoneAndDesktopWithoutConsoleErrors(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("chromium is needed for the browser test (scripts/test.sh installs Debian's chromium): %v", err)
	}
	base := browserSite(t)
	home := get(t, base+"/", "")
	// A generated post rather than the welcome one: they have code,
	// tables, lists and footnotes of all lengths.
	var post string
	for _, m := range postLinkRE.FindAllStringSubmatch(home.body, -1) {
		if !strings.HasSuffix(m[1], "/welcome/") {
			post = m[1]
			break
		}
	}
	if home.status != 200 || post == "" {
		t.Fatalf("GET / = %d with no link to a generated post:\n%.2000s", home.status, home.body)
	}
	pages := []struct{ name, url string }{{"home", base + "/"}, {"post", post}}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	defer cancelAlloc()
	problems := &browserProblems{}
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithErrorf(t.Logf), chromedp.WithListener(problems.listen))
	defer cancelBrowser()
	// The first action starts chromium; chromedp enables the runtime, log
	// and network domains whose events problems collects.
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}

	out := t.ArtifactDir()
	t.Logf("screenshots in %s (kept with go test -artifacts)", out)
	for _, vp := range []struct {
		name          string
		width, height int64
		mobile        bool
	}{{"phone", 375, 812, true}, {"desktop", 1280, 900, false}} {
		for _, pg := range pages {
			t.Run(vp.name+"/"+pg.name, func(t *testing.T) {
				viewport := []chromedp.EmulateViewportOption{chromedp.EmulatePortrait}
				if vp.mobile {
					viewport = append(viewport, chromedp.EmulateMobile)
				}
				err := chromedp.Do(browserCtx,
					chromedp.EmulateViewport(vp.width, vp.height, viewport...),
					chromedp.Navigate(pg.url),
					chromedp.WaitReady(chromedp.CSS("body")),
				)
				if err != nil {
					t.Fatalf("load %s: %v", pg.url, err)
				}
				scrollWidth, err1 := chromedp.Run(browserCtx, chromedp.Evaluate[int64](`document.documentElement.scrollWidth`))
				innerWidth, err2 := chromedp.Run(browserCtx, chromedp.Evaluate[int64](`window.innerWidth`))
				lang, err3 := chromedp.Run(browserCtx, chromedp.Evaluate[string](`document.documentElement.lang`))
				shot, err4 := chromedp.Run(browserCtx, chromedp.FullScreenshot(100))
				if err := errors.Join(err1, err2, err3, err4); err != nil {
					t.Fatalf("inspect %s: %v", pg.url, err)
				}
				file := filepath.Join(out, vp.name+"-"+pg.name+".png")
				if err := os.WriteFile(file, shot, 0o644); err != nil {
					t.Fatal(err)
				}
				if innerWidth != vp.width {
					t.Errorf("window.innerWidth = %d, want the viewport's %d", innerWidth, vp.width)
				}
				if scrollWidth > innerWidth {
					t.Errorf("horizontal overflow at %d px: scrollWidth %d > innerWidth %d (see %s)", vp.width, scrollWidth, innerWidth, file)
					reportWideElements(t, browserCtx, innerWidth)
				}
				if lang == "" {
					t.Errorf("<html> has no lang")
				}
				for _, p := range problems.take() {
					t.Errorf("%s: %s", pg.url, p)
				}
			})
		}
	}
}

// reportWideElements logs the elements that stick out of the viewport,
// which is what one needs to fix an overflow.
func reportWideElements(t *testing.T, ctx context.Context, width int64) {
	t.Helper()
	js := fmt.Sprintf(`Array.from(document.querySelectorAll('body *'))
		.filter(e => e.getBoundingClientRect().right > %d)
		.slice(0, 10)
		.map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '') + ' right=' + Math.round(e.getBoundingClientRect().right))`, width)
	wide, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](js))
	if err != nil {
		t.Logf("listing wide elements: %v", err)
		return
	}
	t.Logf("elements past the right edge: %s", strings.Join(wide, "; "))
}
