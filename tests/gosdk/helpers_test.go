// Package gosdk drives Sundial with the official Temporal Go SDK: each test
// starts a server in-process on a random port (or the built binary) and
// checks results and the history events produced.
package gosdk

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/sundial-io/sundial/internal/server"
)

type env struct {
	t   *testing.T
	srv *server.Server
	c   client.Client
	dir string
	tq  string
}

// newEnv starts a server with a temp data dir and a client.
func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), tq: "tq-" + uuid.NewString()[:8]}
	e.start()
	t.Cleanup(func() { e.stop() })
	return e
}

func (e *env) start() {
	e.t.Helper()
	// Every run loaded from its snapshot is checked against its replayed
	// history (a difference fails the load and the test, see stop).
	srv, err := server.Start(server.Config{Addr: "127.0.0.1:0", DataDir: e.dir, CacheBytes: testCacheBytes(), CheckSnapshots: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		e.t.Fatalf("start server: %v", err)
	}
	e.srv = srv
	c, err := client.Dial(client.Options{HostPort: srv.Addr(), Logger: quietLogger{}})
	if err != nil {
		e.t.Fatalf("dial: %v", err)
	}
	e.c = c
}

func (e *env) stop() {
	if e.c != nil {
		e.c.Close()
		e.c = nil
	}
	if e.srv != nil {
		if _, bad := e.srv.SnapshotStats(); bad > 0 {
			e.t.Errorf("%d runs loaded from their snapshot differed from their replayed history", bad)
		}
		e.srv.Stop()
		e.srv = nil
	}
}

// testCacheBytes is the engine cache budget of test servers:
// SUNDIAL_TEST_CACHE_BYTES, when set, runs the suite with that (tiny) cache
// so every run is evicted and loaded cold between steps; 0 is the default.
func testCacheBytes() int64 {
	n, _ := strconv.ParseInt(os.Getenv("SUNDIAL_TEST_CACHE_BYTES"), 10, 64)
	return n
}

// restart stops the server and starts it again on the same data dir.
func (e *env) restart() {
	e.stop()
	e.start()
}

func (e *env) worker(register func(w worker.Worker)) worker.Worker {
	e.t.Helper()
	w := worker.New(e.c, e.tq, worker.Options{})
	register(w)
	if err := w.Start(); err != nil {
		e.t.Fatalf("worker start: %v", err)
	}
	e.t.Cleanup(w.Stop)
	return w
}

func (e *env) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	e.t.Cleanup(cancel)
	return ctx
}

func (e *env) opts(id string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{ID: id + "-" + uuid.NewString()[:8], TaskQueue: e.tq}
}

// history returns the event types of a run's history.
func (e *env) history(id, runID string) []*historypb.HistoryEvent {
	e.t.Helper()
	it := e.c.GetWorkflowHistory(e.ctx(), id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var out []*historypb.HistoryEvent
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			e.t.Fatalf("history: %v", err)
		}
		out = append(out, ev)
	}
	return out
}

func types(evs []*historypb.HistoryEvent) []enumspb.EventType {
	out := make([]enumspb.EventType, len(evs))
	for i, ev := range evs {
		out[i] = ev.EventType
	}
	return out
}

func count(evs []*historypb.HistoryEvent, t enumspb.EventType) int {
	n := 0
	for _, ev := range evs {
		if ev.EventType == t {
			n++
		}
	}
	return n
}

// requireWellFormed checks event ids are contiguous from 1.
func requireWellFormed(t *testing.T, evs []*historypb.HistoryEvent) {
	t.Helper()
	for i, ev := range evs {
		if ev.EventId != int64(i+1) {
			t.Fatalf("event %d has id %d: %v", i, ev.EventId, types(evs))
		}
	}
}

type quietLogger struct{}

func (quietLogger) Debug(string, ...interface{}) {}
func (quietLogger) Info(string, ...interface{})  {}
func (quietLogger) Warn(string, ...interface{})  {}
func (quietLogger) Error(string, ...interface{}) {}
