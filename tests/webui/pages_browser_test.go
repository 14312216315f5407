package webui_test

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// apiWatch records what goes wrong behind a page: the UI's HTTP API calls
// (/api/v1/..., which ui-server turns into gRPC calls on sundial) that answer
// an error status, and the errors the page logs to its console.
type apiWatch struct {
	mu       sync.Mutex
	failures []string
	inflight map[network.RequestID]bool // API calls sent and not yet answered
	lastDone time.Time                  // when the last one was answered
}

// watchAPI starts recording on b's tab.
func watchAPI(b *browser) *apiWatch {
	b.t.Helper()
	w := &apiWatch{inflight: map[network.RequestID]bool{}}
	chromedp.ListenTarget(b.ctx, func(ev any) {
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			if strings.Contains(ev.Request.URL, "/api/v1/") {
				w.mu.Lock()
				w.inflight[ev.RequestID] = true
				w.mu.Unlock()
			}
		case *network.EventLoadingFinished:
			w.done(ev.RequestID)
		case *network.EventLoadingFailed:
			w.done(ev.RequestID)
		case *network.EventResponseReceived:
			if ev.Response.Status >= 400 && strings.Contains(ev.Response.URL, "/api/v1/") {
				w.add(fmt.Sprintf("HTTP %d %s", ev.Response.Status, ev.Response.URL))
			}
		case *runtime.EventExceptionThrown:
			w.add("exception: " + ev.ExceptionDetails.Error())
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				w.add("console error: " + strings.Join(parts, " "))
			}
		}
	})
	b.run("enable network events", network.Enable())
	return w
}

func (w *apiWatch) done(id network.RequestID) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.inflight[id] {
		delete(w.inflight, id)
		w.lastDone = time.Now()
	}
}

// waitIdle waits until the page has had no API call in flight for half a
// second: some dialogs fetch what they offer when they open and re-render
// their choices when it arrives.
func (w *apiWatch) waitIdle(b *browser, step string) {
	b.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		w.mu.Lock()
		idle := len(w.inflight) == 0 && time.Since(w.lastDone) > 500*time.Millisecond
		w.mu.Unlock()
		if idle {
			return
		}
		if time.Now().After(deadline) {
			b.saveFailure(step)
			b.t.Fatalf("%s: API calls still in flight after %s", step, stepTimeout)
		}
		time.Sleep(100 * time.Millisecond) // polling interval
	}
}

func (w *apiWatch) add(s string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.failures = append(w.failures, s)
}

// take returns what was recorded since the last call and forgets it.
func (w *apiWatch) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	f := w.failures
	w.failures = nil
	return f
}

// errorTexts are what a page shows when a call behind it failed: the UI's
// error banners and toasts carry the server's message.
var errorTexts = []string{"not implemented", "Internal Server Error", "HTTP 500", "Unimplemented", "Something went wrong", "unknown service", "Uh oh. There's an error", "technical difficulties"}

// checkPage fails the step if the page's text shows an error or the page
// made an API call that failed since the last check.
func checkPage(b *browser, w *apiWatch, step string) {
	b.t.Helper()
	var text string
	b.run(step+": read page", chromedp.Evaluate(`document.body.innerText.replace(/\s+/g, ' ')`, &text))
	for _, e := range errorTexts {
		if strings.Contains(strings.ToLower(text), strings.ToLower(e)) {
			b.saveFailure(step)
			b.t.Fatalf("%s: the page shows %q:\n%s", step, e, text)
		}
	}
	if f := w.take(); len(f) > 0 {
		b.saveFailure(step)
		b.t.Fatalf("%s: calls behind the page failed:\n%s\npage text:\n%s", step, strings.Join(f, "\n"), text)
	}
}

// waitTrue polls the JavaScript expression js until it is true.
func waitTrue(b *browser, step, what, js string) {
	b.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		var ok bool
		if err := chromedp.Run(b.ctx, chromedp.Evaluate(js, &ok)); err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.saveFailure(step)
			b.t.Fatalf("%s: timed out after %s waiting for %s", step, stepTimeout, what)
		}
		time.Sleep(100 * time.Millisecond) // polling interval
	}
}
