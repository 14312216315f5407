// Package storetest is the conformance suite every store.Store
// implementation must pass. It checks the contract the engine relies on:
// round trips, history paging, the open-run index, ordering of concurrent
// applies, and that everything survives Close and reopen.
package storetest

import (
	"testing"

	"github.com/sundial-io/sundial/internal/store"
)

// Opener opens the store kept in dir. Called again with the same dir after
// the previous store on it was closed, it must return a store holding
// everything the closed one held (an in-memory store keeps a file system per
// dir to do so). The suite closes every store it opens.
type Opener func(t *testing.T, dir string) store.Store

// Run runs the whole suite against the stores open returns.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, *fixture)
	}{
		{"Namespaces", testNamespaces},
		{"RunRoundTrip", testRunRoundTrip},
		{"RunSnapshot", testRunSnapshot},
		{"NotFound", testNotFound},
		{"HistoryRanges", testHistoryRanges},
		{"CurrentRun", testCurrentRun},
		{"OpenRuns", testOpenRuns},
		{"RunsPerNamespace", testRunsPerNamespace},
		{"AwkwardIDs", testAwkwardIDs},
		{"InvalidBatch", testInvalidBatch},
		{"OrderedApply", testOrderedApply},
		{"ConcurrentApply", testConcurrentApply},
		{"Reopen", testReopen},
		{"ListOrder", testListOrder},
		{"ListCursor", testListCursor},
		{"ListMatch", testListMatch},
		{"OpenIndexed", testOpenIndexed},
		{"PausedRuns", testPausedRuns},
		{"CountRuns", testCountRuns},
		{"DeleteRun", testDeleteRun},
		{"ClosedBefore", testClosedBefore},
		{"SearchAttributes", testSearchAttributes},
		{"Schedules", testSchedules},
		{"BatchJobs", testBatchJobs},
		{"NexusEndpoints", testNexusEndpoints},
		{"KeyedRecords", testKeyedRecords},
		{"ActivityExecutions", testActivityExecutions},
		{"WorkerDeployments", testWorkerDeployments},
		{"DueIndex", testDueIndex},
		{"DueStop", testDueStop},
		{"DueAtomic", testDueAtomic},
		{"ConditionalNamespaces", testConditionalNamespaces},
		{"ConditionalSearchAttributes", testConditionalSearchAttributes},
		{"ConditionalRace", testConditionalRace},
		{"ConditionalRecords", testConditionalRecords},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newFixture(t, open))
		})
	}
}

// fixture holds the store under test and can reopen it on the same dir.
type fixture struct {
	t    *testing.T
	open Opener
	dir  string
	s    store.Store
}

func newFixture(t *testing.T, open Opener) *fixture {
	f := &fixture{t: t, open: open, dir: t.TempDir()}
	f.s = open(t, f.dir)
	t.Cleanup(func() {
		if f.s != nil {
			f.s.Close()
		}
	})
	return f
}

// reopen closes the store and opens a new one on the same dir.
func (f *fixture) reopen() {
	f.t.Helper()
	s := f.s
	f.s = nil
	if err := s.Close(); err != nil {
		f.t.Fatalf("Close: %v", err)
	}
	f.s = f.open(f.t, f.dir)
}

// apply applies b and waits for it to be durable.
func (f *fixture) apply(b *store.Batch) {
	f.t.Helper()
	c, err := f.s.Apply(b)
	if err != nil {
		f.t.Fatalf("Apply: %v", err)
	}
	if err := c.Wait(); err != nil {
		f.t.Fatalf("Wait: %v", err)
	}
}
