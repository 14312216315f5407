package torture

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundial-io/sundial/internal/engine"
	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/store/pebblestore"
)

// gatedStore holds back the fsync of every batch applied while the gate is
// closed: Commit.Wait blocks until open() is called. A crash while the gate
// is closed would lose exactly those batches.
type gatedStore struct {
	store.Store
	mu   sync.Mutex
	gate chan struct{} // nil: open
}

type gatedCommit struct {
	c    store.Commit
	gate chan struct{}
}

func (g gatedCommit) Wait() error {
	<-g.gate
	return g.c.Wait()
}

func (s *gatedStore) Apply(b *store.Batch) (store.Commit, error) {
	c, err := s.Store.Apply(b)
	s.mu.Lock()
	gate := s.gate
	s.mu.Unlock()
	if err != nil || gate == nil {
		return c, err
	}
	return gatedCommit{c, gate}, nil
}

func (s *gatedStore) close() { s.mu.Lock(); s.gate = make(chan struct{}); s.mu.Unlock() }
func (s *gatedStore) open()  { s.mu.Lock(); close(s.gate); s.gate = nil; s.mu.Unlock() }

// TestAckWaitsForDurability: a request must not be acknowledged before the
// write it reports on is durable. Each case sends a first request whose
// fsync is held back (it must block), then a second request that only
// observes the first one's effect (a deduplicated retry, or an
// "already started" error that tells the caller the run exists). The
// second must not return before the first write is durable either: if the
// server crashed at that moment, the caller would have an acknowledgement
// for something that is gone. BUGS.md #1, fixed in e2c3e15.
func TestAckWaitsForDurability(t *testing.T) {
	start := func(reqID string) *workflowservice.StartWorkflowExecutionRequest {
		return &workflowservice.StartWorkflowExecutionRequest{
			Namespace: "default", WorkflowId: "wf", RequestId: reqID,
			WorkflowType: &commonpb.WorkflowType{Name: "W"}, TaskQueue: nil,
		}
	}
	cases := []struct {
		name          string
		first, second func(e *engine.Engine) error
	}{
		{"StartRetrySameRequestID",
			func(e *engine.Engine) error {
				_, err := e.StartWorkflow(context.Background(), engine.StartRequestParams(start("r1")))
				return err
			},
			func(e *engine.Engine) error {
				_, err := e.StartWorkflow(context.Background(), engine.StartRequestParams(start("r1")))
				return err
			}},
		{"StartAlreadyStarted",
			func(e *engine.Engine) error {
				_, err := e.StartWorkflow(context.Background(), engine.StartRequestParams(start("r1")))
				return err
			},
			func(e *engine.Engine) error {
				_, err := e.StartWorkflow(context.Background(), engine.StartRequestParams(start("r2")))
				var already *serviceerror.WorkflowExecutionAlreadyStarted
				if errors.As(err, &already) {
					return nil // the caller learns the run exists
				}
				return err
			}},
		{"SignalRetrySameRequestID",
			func(e *engine.Engine) error { return e.Signal(context.Background(), signalReq("s1")) },
			func(e *engine.Engine) error { return e.Signal(context.Background(), signalReq("s1")) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, err := pebblestore.Open(t.TempDir(), pebblestore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			g := &gatedStore{Store: st}
			e, err := engine.New(g, engine.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			if tc.name == "SignalRetrySameRequestID" {
				if _, err := e.StartWorkflow(context.Background(), engine.StartRequestParams(start("r0"))); err != nil {
					t.Fatal(err)
				}
			}
			g.close()
			defer func() {
				if g.gate != nil {
					g.open()
				}
			}()
			firstDone := make(chan error, 1)
			go func() { firstDone <- tc.first(e) }()
			select {
			case err := <-firstDone:
				t.Fatalf("first request returned (%v) before its write was durable", err)
			case <-time.After(200 * time.Millisecond):
			}
			secondDone := make(chan error, 1)
			go func() { secondDone <- tc.second(e) }()
			select {
			case err := <-secondDone:
				g.open()
				t.Fatalf("second request acknowledged (err=%v) while the write it observes was not yet durable", err)
			case <-time.After(200 * time.Millisecond):
			}
			g.open()
			if err := <-firstDone; err != nil {
				t.Fatal(err)
			}
			if err := <-secondDone; err != nil {
				t.Fatal(err)
			}
		})
	}
}

func signalReq(reqID string) *workflowservice.SignalWorkflowExecutionRequest {
	return &workflowservice.SignalWorkflowExecutionRequest{
		Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: "wf"},
		SignalName: "s", RequestId: reqID,
	}
}
