package gosdk

import (
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
)

// TestNexusCallbackHTTPRestart: an http completion callback still being
// retried when the server stops is delivered after the restart (its
// record was written with the run's close), and once delivered it is not
// sent again after a later restart.
func TestNexusCallbackHTTPRestart(t *testing.T) {
	e := newEnv(t)
	w := worker.New(e.c, e.tq, worker.Options{})
	w.RegisterWorkflow(nexusCallbackEchoWF)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:18150")
	if err != nil {
		t.Skipf("port 18150 busy: %v", err)
	}
	var accept atomic.Bool
	var refused atomic.Int32
	delivered := make(chan string, 8)
	srv := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if !accept.Load() {
			refused.Add(1)
			rw.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		delivered <- r.Header.Get("Nexus-Operation-State") + " " + string(b)
	})}
	go srv.Serve(ln)
	defer srv.Close()

	in, err := converter.GetDefaultDataConverter().ToPayloads(false)
	if err != nil {
		t.Fatal(err)
	}
	req := startRequestWithCallback(e, "http://127.0.0.1:18150/callback")
	req.WorkflowType.Name = "nexusCallbackEchoWF"
	req.Input = in
	if _, err := e.c.WorkflowService().StartWorkflowExecution(e.ctx(), req); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(15 * time.Second); refused.Load() == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no callback POST before the restart")
		}
	}
	w.Stop()
	e.restart()
	accept.Store(true)
	select {
	case got := <-delivered:
		if got != `succeeded "echoed"` {
			t.Fatalf("delivered %q", got)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("the callback was not delivered after the restart (%d refused before)", refused.Load())
	}
	time.Sleep(300 * time.Millisecond) // the record's deletion
	e.restart()
	select {
	case got := <-delivered:
		t.Fatalf("delivered again after a second restart: %q", got)
	case <-time.After(time.Second):
	}
}
