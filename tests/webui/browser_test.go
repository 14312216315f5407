package webui_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// artifactsDir holds the screenshots each test step saves (git-ignored).
const artifactsDir = "artifacts"

// stepTimeout bounds each browser step: a page load plus the API calls it
// makes to sundial take well under a second here.
const stepTimeout = 30 * time.Second

// findChromium returns the path of a Chromium (or Chrome) binary. Without
// one the test is skipped on a developer's machine and fails in CI (CI is
// set), where .ci/run installs the Debian package.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "no Chromium found on PATH (chromium, chromium-browser, google-chrome): the Web UI test drives a real browser; install it with `apt-get install -y chromium`"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// browser is one headless Chromium tab.
type browser struct {
	t   *testing.T
	ctx context.Context
}

func newBrowser(t *testing.T, chromium string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // Chromium refuses to start as root with its sandbox on (CI runs as root)
		chromedp.WindowSize(1400, 900),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	// chromedp logs CDP events it has no type for (newer Chromium sends
	// some); they do not affect the test.
	errorf := func(format string, args ...any) {
		if msg := fmt.Sprintf(format, args...); !strings.Contains(msg, "unhandled node event") {
			t.Logf("chromedp: %s", msg)
		}
	}
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithErrorf(errorf))
	// Start the browser now, so a broken Chromium fails here, clearly.
	if err := chromedp.Run(ctx); err != nil {
		cancelCtx()
		cancelAlloc()
		t.Fatalf("starting Chromium %s: %v", chromium, err)
	}
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	if err := os.MkdirAll(artifactsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, ctx: ctx}
}

// run runs actions with the step timeout; on failure it saves a screenshot
// and the page's text for the step and fails the test.
func (b *browser) run(step string, actions ...chromedp.Action) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		b.saveFailure(step)
		b.t.Fatalf("%s: %v (screenshot and page text in tests/webui/%s/)", step, err, artifactsDir)
	}
}

// open navigates to url and waits until the page shows every one of want.
func (b *browser) open(step, url string, want ...string) {
	b.t.Helper()
	b.run(step, chromedp.Navigate(url))
	b.waitText(step, want...)
}

// waitText waits until the page's visible text, with runs of white space
// made one space, contains every one of want.
func (b *browser) waitText(step string, want ...string) {
	b.t.Helper()
	b.waitFor(step, fmt.Sprintf("page text to contain %q", want), func(text string, _ []string) bool {
		for _, w := range want {
			if !strings.Contains(text, w) {
				return false
			}
		}
		return true
	})
}

// waitRows waits until the page's table rows satisfy ok, and returns them.
// Each row is its visible text with runs of white space made one space.
func (b *browser) waitRows(step, what string, ok func(rows []string) bool) []string {
	b.t.Helper()
	var got []string
	b.waitFor(step, what, func(_ string, rows []string) bool {
		got = rows
		return ok(rows)
	})
	return got
}

// waitFor polls the page's text and table rows until cond holds.
func (b *browser) waitFor(step, what string, cond func(text string, rows []string) bool) {
	b.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	var text string
	var rows []string
	for {
		err := chromedp.Run(b.ctx,
			chromedp.Evaluate(`document.body.innerText.replace(/\s+/g, ' ')`, &text),
			chromedp.Evaluate(`Array.from(document.querySelectorAll('tr')).map(r => r.innerText.replace(/\s+/g, ' ').trim())`, &rows),
		)
		if err == nil && cond(text, rows) {
			return
		}
		if time.Now().After(deadline) {
			b.saveFailure(step)
			b.t.Fatalf("%s: timed out after %s waiting for %s (err %v)\ntable rows: %q\npage text:\n%s",
				step, stepTimeout, what, err, rows, text)
		}
		time.Sleep(200 * time.Millisecond) // polling interval, not a wait for the UI
	}
}

// screenshot saves what the browser shows as artifacts/<name>.png.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	var png []byte
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Run(ctx, chromedp.CaptureScreenshot(&png)); err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(artifactsDir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// saveFailure keeps a screenshot and the page text of a failed step.
func (b *browser) saveFailure(step string) {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	var png []byte
	var text string
	_ = chromedp.Run(ctx, chromedp.CaptureScreenshot(&png), chromedp.Evaluate(`document.body.innerText`, &text))
	name := "FAILED-" + strings.NewReplacer(" ", "-", "/", "-").Replace(step)
	_ = os.WriteFile(filepath.Join(artifactsDir, name+".png"), png, 0o644)
	_ = os.WriteFile(filepath.Join(artifactsDir, name+".txt"), []byte(text), 0o644)
}

// click waits for a visible element that matches the CSS selector css (and
// whose text contains text, if given) and clicks it with the mouse. The UI
// renders some controls twice (one copy hidden at this window size), so the
// first match is not always the one a person sees.
func (b *browser) click(step, css, text string) {
	b.t.Helper()
	b.clickWhere(step, css, text, "includes")
}

// clickExact is click for an element whose whole text is text: the
// workflow page has a "Pause Workflow" button as well as an activity's
// "Pause".
func (b *browser) clickExact(step, css, text string) {
	b.t.Helper()
	b.clickWhere(step, css, text, "exact")
}

// clickWhere clicks the first visible, enabled element matching css whose
// text includes text (how "includes") or is text, trimmed (how "exact").
func (b *browser) clickWhere(step, css, text, how string) {
	b.t.Helper()
	const mark = "data-webui-test-target"
	match := "e.innerText.includes(%[3]q)"
	if how == "exact" {
		match = "e.innerText.trim() === %[3]q"
	}
	find := fmt.Sprintf(`(() => {
		document.querySelectorAll('[%[1]s]').forEach(e => e.removeAttribute('%[1]s'));
		const el = Array.from(document.querySelectorAll(%[2]q)).find(e =>
			e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden' &&
			!e.disabled && `+match+`);
		if (!el) return false;
		el.setAttribute('%[1]s', '1');
		return true;
	})()`, mark, css, text)
	deadline := time.Now().Add(stepTimeout)
	for {
		var found bool
		if err := chromedp.Run(b.ctx, chromedp.Evaluate(find, &found)); err == nil && found {
			break
		}
		if time.Now().After(deadline) {
			b.saveFailure(step)
			b.t.Fatalf("%s: no visible, enabled %s containing %q after %s", step, css, text, stepTimeout)
		}
		time.Sleep(100 * time.Millisecond) // polling interval
	}
	b.run(step, chromedp.Click(`[`+mark+`="1"]`, chromedp.ByQuery))
}

// typeInto clicks the visible element matching css and types keys into it.
func (b *browser) typeInto(step, css, keys string) {
	b.t.Helper()
	b.click(step, css, "")
	b.run(step, chromedp.SendKeys(`[data-webui-test-target="1"]`, keys, chromedp.ByQuery))
}
