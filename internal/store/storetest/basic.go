package storetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/sundial-io/sundial/internal/store"
)

func testNamespaces(t *testing.T, f *fixture) {
	ctx := t.Context()
	got, err := f.s.Namespaces(ctx)
	if err != nil || len(got) != 0 {
		t.Fatalf("empty store: Namespaces = %v, %v", got, err)
	}
	f.apply(&store.Batch{Namespaces: []*store.Namespace{namespace("default"), namespace("other")}})
	changed := namespace("other")
	changed.NamespaceInfo.Description = "replaced"
	f.apply(&store.Batch{Namespaces: []*store.Namespace{changed}})
	got, err = f.s.Namespaces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(a, b *store.Namespace) int {
		return compareStrings(a.GetNamespaceInfo().GetName(), b.GetNamespaceInfo().GetName())
	})
	checkMessages(t, "namespaces", got, []*store.Namespace{namespace("default"), changed})

	// Renaming in one batch: insert the new name, delete the old one.
	f.apply(&store.Batch{Namespaces: []*store.Namespace{namespace("other-deleted-12345")}, DeleteNamespaces: []string{"other"}})
	got, err = f.s.Namespaces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(a, b *store.Namespace) int {
		return compareStrings(a.GetNamespaceInfo().GetName(), b.GetNamespaceInfo().GetName())
	})
	checkMessages(t, "namespaces after rename", got, []*store.Namespace{namespace("default"), namespace("other-deleted-12345")})
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func testRunRoundTrip(t *testing.T, f *fixture) {
	ctx := t.Context()
	r := record("default", "wf", "run1", running)
	f.apply(runWrite(r, events(1, 3), true))
	got, err := f.s.Run(ctx, "default", "run1")
	if err != nil {
		t.Fatal(err)
	}
	checkRecord(t, r, got)
	cur, err := f.s.CurrentRun(ctx, "default", "wf")
	if err != nil || cur != "run1" {
		t.Fatalf("CurrentRun = %q, %v", cur, err)
	}
	h, err := f.s.History(ctx, "default", "run1", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkEvents(t, h, events(1, 3))

	// A later write replaces the record and appends to the history.
	r2 := record("default", "wf", "run1", completed)
	r2.Activities, r2.Buffered, r2.Info.HistoryLength = nil, nil, 5
	f.apply(runWrite(r2, events(4, 2), false))
	got, err = f.s.Run(ctx, "default", "run1")
	if err != nil {
		t.Fatal(err)
	}
	checkRecord(t, r2, got)
	h, err = f.s.History(ctx, "default", "run1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkEvents(t, h, events(1, 5))
}

func testNotFound(t *testing.T, f *fixture) {
	ctx := t.Context()
	f.apply(runWrite(record("default", "wf", "run1", running), events(1, 2), true))
	if _, err := f.s.Run(ctx, "default", "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Run(unknown) err = %v, want ErrNotFound", err)
	}
	if _, err := f.s.Run(ctx, "other", "run1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Run(other namespace) err = %v, want ErrNotFound", err)
	}
	if _, err := f.s.CurrentRun(ctx, "default", "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CurrentRun(unknown) err = %v, want ErrNotFound", err)
	}
	if _, err := f.s.History(ctx, "default", "nope", 1, 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("History(unknown) err = %v, want ErrNotFound", err)
	}
	// Past the end of a known run's history is empty, not an error.
	h, err := f.s.History(ctx, "default", "run1", 3, 0)
	if err != nil || len(h) != 0 {
		t.Errorf("History past end = %v, %v; want empty, nil", ids(h), err)
	}
	// A run with a record but no events yet has an empty history.
	f.apply(runWrite(record("default", "wf2", "run2", running), nil, true))
	if h, err := f.s.History(ctx, "default", "run2", 1, 0); err != nil || len(h) != 0 {
		t.Errorf("History(no events) = %v, %v; want empty, nil", ids(h), err)
	}
}

// testHistoryRanges stores batches [1-3] [4] [5-9] and checks every
// (from, limit) pair, including starts inside a batch.
func testHistoryRanges(t *testing.T, f *fixture) {
	ctx := t.Context()
	r := record("default", "wf", "run1", running)
	f.apply(runWrite(r, events(1, 3), true))
	f.apply(runWrite(r, events(4, 1), false))
	f.apply(runWrite(r, events(5, 5), false))
	all := events(1, 9)
	for from := int64(-1); from <= 11; from++ {
		for limit := -1; limit <= 10; limit++ {
			start := min(max(from, 1)-1, 9)
			want := all[start:]
			if limit > 0 && len(want) > limit {
				want = want[:limit]
			}
			got, err := f.s.History(ctx, "default", "run1", from, limit)
			if err != nil {
				t.Fatalf("History(%d, %d): %v", from, limit, err)
			}
			if len(got) != len(want) {
				t.Fatalf("History(%d, %d) = %v, want %v", from, limit, ids(got), ids(want))
			}
			checkEvents(t, got, want)
		}
	}
}

func testCurrentRun(t *testing.T, f *fixture) {
	ctx := t.Context()
	f.apply(runWrite(record("default", "wf", "run1", completed), events(1, 1), true))
	f.apply(runWrite(record("default", "wf", "run2", running), events(1, 1), true))
	// A run written without SetCurrent does not move the pointer.
	f.apply(runWrite(record("default", "wf", "run3", running), events(1, 1), false))
	cur, err := f.s.CurrentRun(ctx, "default", "wf")
	if err != nil || cur != "run2" {
		t.Fatalf("CurrentRun = %q, %v; want run2", cur, err)
	}
	if _, err := f.s.CurrentRun(ctx, "other", "wf"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CurrentRun in other namespace err = %v, want ErrNotFound", err)
	}
}

func openRunIDs(t *testing.T, s store.Store) []string {
	t.Helper()
	var out []string
	err := s.OpenRuns(t.Context(), func(r *store.RunRecord) error {
		out = append(out, r.Namespace+"/"+r.RunID)
		return nil
	})
	if err != nil {
		t.Fatalf("OpenRuns: %v", err)
	}
	slices.Sort(out)
	return out
}

func testOpenRuns(t *testing.T, f *fixture) {
	if got := openRunIDs(t, f.s); len(got) != 0 {
		t.Fatalf("empty store: open runs %v", got)
	}
	f.apply(&store.Batch{Runs: []*store.RunWrite{
		{Record: record("a", "w1", "r1", running)},
		{Record: record("a", "w2", "r2", running)},
		{Record: record("b", "w3", "r3", running)},
		{Record: record("b", "w4", "r4", completed)},
	}})
	if got, want := openRunIDs(t, f.s), []string{"a/r1", "a/r2", "b/r3"}; !slices.Equal(got, want) {
		t.Fatalf("open runs %v, want %v", got, want)
	}
	// Closing a run drops it; reopening one (as reset would) adds it back.
	f.apply(runWrite(record("a", "w1", "r1", completed), nil, false))
	f.apply(runWrite(record("b", "w4", "r4", running), nil, false))
	if got, want := openRunIDs(t, f.s), []string{"a/r2", "b/r3", "b/r4"}; !slices.Equal(got, want) {
		t.Fatalf("open runs %v, want %v", got, want)
	}
	// The records handed out are the current ones.
	err := f.s.OpenRuns(t.Context(), func(r *store.RunRecord) error {
		checkRecord(t, record(r.Namespace, r.WorkflowID, r.RunID, running), r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	calls := 0
	err = f.s.OpenRuns(t.Context(), func(*store.RunRecord) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("OpenRuns with failing fn: err %v after %d calls; want stop after 1", err, calls)
	}
}

func runIDs(t *testing.T, s store.Store, ns string) []string {
	t.Helper()
	var out []string
	err := s.Runs(t.Context(), ns, func(r *store.RunRecord) error {
		if r.Namespace != ns {
			t.Errorf("Runs(%q) returned a run of %q", ns, r.Namespace)
		}
		out = append(out, r.RunID)
		return nil
	})
	if err != nil {
		t.Fatalf("Runs(%q): %v", ns, err)
	}
	slices.Sort(out)
	return out
}

func testRunsPerNamespace(t *testing.T, f *fixture) {
	// "ab" shares a prefix with "a": a naive prefix scan would mix them.
	f.apply(&store.Batch{Runs: []*store.RunWrite{
		{Record: record("a", "w1", "r1", running)},
		{Record: record("a", "w2", "r2", completed)},
		{Record: record("ab", "w3", "r3", running)},
		{Record: record("b", "w4", "r4", completed)},
	}})
	for ns, want := range map[string][]string{
		"a": {"r1", "r2"}, "ab": {"r3"}, "b": {"r4"}, "none": nil,
	} {
		if got := runIDs(t, f.s, ns); !slices.Equal(got, want) {
			t.Errorf("Runs(%q) = %v, want %v", ns, got, want)
		}
	}
	stop := errors.New("stop")
	if err := f.s.Runs(t.Context(), "a", func(*store.RunRecord) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("Runs with failing fn: err %v, want stop", err)
	}
}

// testAwkwardIDs uses ids with NUL bytes, separators and unicode, which
// must neither collide nor leak across namespaces.
func testAwkwardIDs(t *testing.T, f *fixture) {
	ctx := t.Context()
	cases := [][3]string{
		{"n\x00s", "w", "r"},
		{"n", "\x00s\x00w", "r"},
		{"n", "s", "\x00w\x00r"},
		{"n/", "w/", "r/"},
		{"ñ", "ワーク", "🏃"},
	}
	for i, c := range cases {
		f.apply(runWrite(record(c[0], c[1], c[2], running), events(1, i+1), true))
	}
	for i, c := range cases {
		got, err := f.s.Run(ctx, c[0], c[2])
		if err != nil {
			t.Fatalf("Run(%q, %q): %v", c[0], c[2], err)
		}
		checkRecord(t, record(c[0], c[1], c[2], running), got)
		if cur, err := f.s.CurrentRun(ctx, c[0], c[1]); err != nil || cur != c[2] {
			t.Fatalf("CurrentRun(%q, %q) = %q, %v", c[0], c[1], cur, err)
		}
		h, err := f.s.History(ctx, c[0], c[2], 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		checkEvents(t, h, events(1, i+1))
	}
	for ns, want := range map[string][]string{
		"n\x00s": {"r"}, "n": {"\x00w\x00r", "r"}, "n/": {"r/"}, "ñ": {"🏃"},
	} {
		if got := runIDs(t, f.s, ns); !slices.Equal(got, want) {
			t.Errorf("Runs(%q) = %q, want %q", ns, got, want)
		}
	}
}

// testInvalidBatch checks that malformed batches fail whole: nothing of
// them, not even their valid parts, becomes visible.
func testInvalidBatch(t *testing.T, f *fixture) {
	ctx := t.Context()
	gap := append(events(1, 2), events(4, 1)...)
	bad := map[string]*store.RunWrite{
		"nil record":     {},
		"no run id":      {Record: record("default", "wf", "", running)},
		"no namespace":   {Record: record("", "wf", "x", running)},
		"event gap":      {Record: record("default", "wf", "x", running), Events: gap},
		"event id zero":  {Record: record("default", "wf", "x", running), Events: events(0, 2)},
		"nil event":      {Record: record("default", "wf", "x", running), Events: append(events(1, 1), nil)},
		"current no wid": {Record: record("default", "", "x", running), SetCurrent: true},
	}
	for name, w := range bad {
		good := &store.RunWrite{Record: record("default", "ok", "good", running), Events: events(1, 1), SetCurrent: true}
		c, err := f.s.Apply(&store.Batch{Runs: []*store.RunWrite{good, w}})
		if err == nil {
			err = c.Wait()
		}
		if err == nil {
			t.Errorf("%s: Apply accepted an invalid batch", name)
		}
		if _, err := f.s.Run(ctx, "default", "good"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s: the valid half of a rejected batch was written (err %v)", name, err)
		}
	}
	if _, err := f.s.Apply(&store.Batch{Namespaces: []*store.Namespace{{}}}); err == nil {
		t.Errorf("Apply accepted a namespace without a name")
	}
	// An empty batch is fine and durable at once.
	f.apply(&store.Batch{})
}
