package pgstore

import (
	"errors"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"

	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/store/pgstore/pgtest"
)

// TestReadsWaitForQueuedBatches: a batch is visible to reads as soon as
// Apply returns (the contract), although the writer has not committed it.
// With the writer held before its commit, reads of what the batch touches
// wait, reads of other runs do not, and once the writer goes on the
// waiting reads see the batch.
func TestReadsWaitForQueuedBatches(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	s := mustOpen(t, pg.NewDatabase(t))
	defer s.Close()
	rec := func(id string) *store.RunRecord {
		return &store.RunRecord{Namespace: "ns", WorkflowID: "wf-" + id, RunID: id,
			Info: &workflowpb.WorkflowExecutionInfo{Status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING}}
	}
	ev := []*historypb.HistoryEvent{{EventId: 1, EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED}}
	c, err := s.Apply(&store.Batch{Runs: []*store.RunWrite{{Record: rec("other"), Events: ev, SetCurrent: true}}})
	if err == nil {
		err = c.Wait()
	}
	if err != nil {
		t.Fatal(err)
	}

	release := make(chan struct{})
	held := make(chan struct{}, 1)
	s.beforeCommit = func() {
		select {
		case held <- struct{}{}:
		default:
		}
		<-release
	}
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	c, err = s.Apply(&store.Batch{
		Runs:             []*store.RunWrite{{Record: rec("new"), Events: ev, SetCurrent: true}},
		SearchAttributes: []*store.SearchAttributeRegistry{{Namespace: "ns", Custom: map[string]enumspb.IndexedValueType{"Color": enumspb.INDEXED_VALUE_TYPE_KEYWORD}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	<-held // the writer took the batch and waits before writing it

	// Reads of other rows answer at once.
	if _, err := s.Run(t.Context(), "ns", "other"); err != nil {
		t.Fatalf("Run(other) while a batch of another run is held: %v", err)
	}
	reads := map[string]func() error{
		"Run": func() error { _, err := s.Run(t.Context(), "ns", "new"); return err },
		"CurrentRun": func() error {
			id, err := s.CurrentRun(t.Context(), "ns", "wf-new")
			if err == nil && id != "new" {
				err = errors.New("current run " + id)
			}
			return err
		},
		"History": func() error {
			h, err := s.History(t.Context(), "ns", "new", 1, 0)
			if err == nil && len(h) != 1 {
				err = errors.New("no history")
			}
			return err
		},
		"SearchAttributes": func() error {
			m, err := s.SearchAttributes(t.Context(), "ns")
			if err == nil && m["Color"] != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
				err = errors.New("registry without Color")
			}
			return err
		},
		"CountRuns": func() error {
			n, err := s.CountRuns(t.Context(), "ns", store.CountBy{}, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING)
			if err == nil && n != 2 {
				err = errors.New("count without the new run")
			}
			return err
		},
	}
	done := make(map[string]chan error)
	for name, read := range reads {
		ch := make(chan error, 1)
		done[name] = ch
		go func() { ch <- read() }()
	}
	time.Sleep(200 * time.Millisecond)
	for name, ch := range done {
		select {
		case err := <-ch:
			t.Fatalf("%s answered (%v) before the batch it must see was committed", name, err)
		default:
		}
	}
	close(release)
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	for name, ch := range done {
		select {
		case err := <-ch:
			if err != nil {
				t.Errorf("%s after the commit: %v", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s still waiting after the commit", name)
		}
	}
}
