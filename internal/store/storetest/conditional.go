package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sundial-io/sundial/internal/store"
)

// Conditional batches (Batch.ExpectNamespaces, ExpectSearchAttributes):
// written only if the expected records are as the caller read them,
// failed whole with store.ErrConflict otherwise.

// applyErr applies b and waits, returning the error of either step (a
// store may report a conflict from Apply or from Wait).
func (f *fixture) applyErr(b *store.Batch) error {
	c, err := f.s.Apply(b)
	if err != nil {
		return err
	}
	return c.Wait()
}

// storedNamespace returns the stored record of name (nil: none).
func storedNamespace(t *testing.T, f *fixture, name string) *store.Namespace {
	t.Helper()
	list, err := f.s.Namespaces(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range list {
		if n.GetNamespaceInfo().GetName() == name {
			return n
		}
	}
	return nil
}

func testConditionalNamespaces(t *testing.T, f *fixture) {
	first := namespace("cas")
	first.NamespaceInfo.Description = "first"
	absent := []store.NamespaceExpect{{Name: "cas"}}
	if err := f.applyErr(&store.Batch{Namespaces: []*store.Namespace{first}, ExpectNamespaces: absent}); err != nil {
		t.Fatalf("insert of an absent namespace: %v", err)
	}
	second := namespace("cas")
	second.NamespaceInfo.Description = "second"
	err := f.applyErr(&store.Batch{Namespaces: []*store.Namespace{second}, ExpectNamespaces: absent})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second insert expecting absence: err = %v, want ErrConflict", err)
	}
	if got := storedNamespace(t, f, "cas"); !proto.Equal(got, first) {
		t.Fatalf("after the refused insert: stored %v, want %v", got, first)
	}

	// Update at the version read: written. Update at a stale one: refused,
	// nothing of its batch written (not even its other namespace).
	upd := proto.Clone(first).(*store.Namespace)
	upd.NamespaceInfo.Description = "updated"
	if err := f.applyErr(&store.Batch{Namespaces: []*store.Namespace{upd}, ExpectNamespaces: []store.NamespaceExpect{{Name: "cas", Was: first}}}); err != nil {
		t.Fatalf("update at the current version: %v", err)
	}
	stale := proto.Clone(first).(*store.Namespace)
	stale.NamespaceInfo.OwnerEmail = "lost@example.com"
	err = f.applyErr(&store.Batch{
		Namespaces:       []*store.Namespace{stale, namespace("bystander")},
		ExpectNamespaces: []store.NamespaceExpect{{Name: "cas", Was: first}},
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("update at a stale version: err = %v, want ErrConflict", err)
	}
	if got := storedNamespace(t, f, "cas"); !proto.Equal(got, upd) {
		t.Fatalf("after the refused update: stored %v, want %v", got, upd)
	}
	if got := storedNamespace(t, f, "bystander"); got != nil {
		t.Fatalf("a refused batch wrote its other namespace: %v", got)
	}
	// Expecting a record that is gone fails; expecting absence after the
	// delete succeeds.
	f.apply(&store.Batch{DeleteNamespaces: []string{"cas"}})
	if err := f.applyErr(&store.Batch{Namespaces: []*store.Namespace{upd}, ExpectNamespaces: []store.NamespaceExpect{{Name: "cas", Was: upd}}}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("update of a deleted namespace: err = %v, want ErrConflict", err)
	}
	if err := f.applyErr(&store.Batch{Namespaces: []*store.Namespace{second}, ExpectNamespaces: absent}); err != nil {
		t.Fatalf("insert after the delete: %v", err)
	}
	f.reopen()
	if got := storedNamespace(t, f, "cas"); !proto.Equal(got, second) {
		t.Fatalf("after reopen: stored %v, want %v", got, second)
	}
}

func testConditionalSearchAttributes(t *testing.T, f *fixture) {
	reg := func(m map[string]enumspb.IndexedValueType) []*store.SearchAttributeRegistry {
		return []*store.SearchAttributeRegistry{{Namespace: "ns", Custom: m}}
	}
	a := map[string]enumspb.IndexedValueType{"A": enumspb.INDEXED_VALUE_TYPE_KEYWORD}
	absent := []store.SearchAttributesExpect{{Namespace: "ns", Absent: true}}
	if err := f.applyErr(&store.Batch{SearchAttributes: reg(a), ExpectSearchAttributes: absent}); err != nil {
		t.Fatalf("first registry: %v", err)
	}
	if err := f.applyErr(&store.Batch{SearchAttributes: reg(nil), ExpectSearchAttributes: absent}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second registry expecting none: err = %v, want ErrConflict", err)
	}
	ab := maps.Clone(a)
	ab["B"] = enumspb.INDEXED_VALUE_TYPE_INT
	if err := f.applyErr(&store.Batch{SearchAttributes: reg(ab), ExpectSearchAttributes: []store.SearchAttributesExpect{{Namespace: "ns", Was: a}}}); err != nil {
		t.Fatalf("add at the current registry: %v", err)
	}
	ac := maps.Clone(a)
	ac["C"] = enumspb.INDEXED_VALUE_TYPE_BOOL
	if err := f.applyErr(&store.Batch{SearchAttributes: reg(ac), ExpectSearchAttributes: []store.SearchAttributesExpect{{Namespace: "ns", Was: a}}}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("add at a stale registry: err = %v, want ErrConflict", err)
	}
	got, err := f.s.SearchAttributes(t.Context(), "ns")
	if err != nil || !maps.Equal(got, ab) {
		t.Fatalf("registry = %v, %v; want %v", got, err, ab)
	}
}

// testConditionalRace races conditional writers, with unconditional
// writes of other records among them: exactly one insert of a name wins,
// read-modify-write loops that retry on conflict lose nothing, and a
// conflict fails only its own batch.
func testConditionalRace(t *testing.T, f *fixture) {
	const n = 8
	var wg sync.WaitGroup
	wins := make(chan string, n)
	errs := make(chan error, 4*n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ns := namespace("race")
			ns.NamespaceInfo.Description = fmt.Sprint("writer ", i)
			err := f.applyErr(&store.Batch{Namespaces: []*store.Namespace{ns}, ExpectNamespaces: []store.NamespaceExpect{{Name: "race"}}})
			switch {
			case err == nil:
				wins <- ns.NamespaceInfo.Description
			case !errors.Is(err, store.ErrConflict):
				errs <- err
			}
		}()
		wg.Add(1)
		go func() { // an unrelated write in the same commit groups
			defer wg.Done()
			if err := f.applyErr(&store.Batch{Namespaces: []*store.Namespace{namespace(fmt.Sprint("plain-", i))}}); err != nil {
				errs <- err
			}
		}()
		wg.Add(1)
		go func() { // add attribute A<i>, re-reading on conflict
			defer wg.Done()
			for range 100 {
				cur, err := f.s.SearchAttributes(t.Context(), "race")
				found := err == nil
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					errs <- err
					return
				}
				next := maps.Clone(cur)
				if next == nil {
					next = map[string]enumspb.IndexedValueType{}
				}
				next[fmt.Sprint("A", i)] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
				err = f.applyErr(&store.Batch{
					SearchAttributes:       []*store.SearchAttributeRegistry{{Namespace: "race", Custom: next}},
					ExpectSearchAttributes: []store.SearchAttributesExpect{{Namespace: "race", Was: cur, Absent: !found}},
				})
				if err == nil {
					return
				}
				if !errors.Is(err, store.ErrConflict) {
					errs <- err
					return
				}
			}
			errs <- fmt.Errorf("writer %d: still conflicting after 100 attempts", i)
		}()
	}
	wg.Wait()
	close(wins)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var won []string
	for w := range wins {
		won = append(won, w)
	}
	if len(won) != 1 {
		t.Fatalf("%d inserts of one absent name succeeded (%v), want exactly 1", len(won), won)
	}
	if got := storedNamespace(t, f, "race"); got.GetNamespaceInfo().GetDescription() != won[0] {
		t.Fatalf("stored %q, but the insert that succeeded was %q", got.GetNamespaceInfo().GetDescription(), won[0])
	}
	for i := range n {
		if storedNamespace(t, f, fmt.Sprint("plain-", i)) == nil {
			t.Errorf("unconditional write plain-%d lost", i)
		}
	}
	got, err := f.s.SearchAttributes(t.Context(), "race")
	if err != nil || len(got) != n {
		t.Fatalf("registry after the race = %v, %v; want A0..A%d", got, err, n-1)
	}
}

func testConditionalRecords(t *testing.T, f *fixture) {
	rec := func(state string) []*store.KeyedRecord {
		return []*store.KeyedRecord{{Kind: "cas", Key: "gen", State: []byte(state)}}
	}
	absent := []store.RecordExpect{{Kind: "cas", Key: "gen", Absent: true}}
	if err := f.applyErr(&store.Batch{Records: rec("1"), ExpectRecords: absent}); err != nil {
		t.Fatalf("insert of an absent record: %v", err)
	}
	if err := f.applyErr(&store.Batch{Records: rec("x"), ExpectRecords: absent}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second insert expecting absence: err = %v, want ErrConflict", err)
	}
	if err := f.applyErr(&store.Batch{Records: rec("2"), ExpectRecords: []store.RecordExpect{{Kind: "cas", Key: "gen", Was: []byte("1")}}}); err != nil {
		t.Fatalf("update at the current state: %v", err)
	}
	err := f.applyErr(&store.Batch{
		Records:       append(rec("3"), &store.KeyedRecord{Kind: "cas", Key: "bystander", State: []byte("b")}),
		ExpectRecords: []store.RecordExpect{{Kind: "cas", Key: "gen", Was: []byte("1")}},
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("update at a stale state: err = %v, want ErrConflict", err)
	}
	got := map[string]string{}
	if err := f.s.Records(t.Context(), "cas", func(r *store.KeyedRecord) error {
		got[r.Key] = string(r.State)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got["gen"] != "2" {
		t.Fatalf("records after the refused update = %v, want only gen=2", got)
	}

	// Racing increments of one counter record, each retrying on conflict:
	// none is lost.
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				var cur []byte
				found := false
				if err := f.s.Records(t.Context(), "cas", func(r *store.KeyedRecord) error {
					if r.Key == "counter" {
						cur, found = r.State, true
					}
					return nil
				}); err != nil {
					errs <- err
					return
				}
				next := append(bytes.Clone(cur), 'x')
				err := f.applyErr(&store.Batch{
					Records:       []*store.KeyedRecord{{Kind: "cas", Key: "counter", State: next}},
					ExpectRecords: []store.RecordExpect{{Kind: "cas", Key: "counter", Was: cur, Absent: !found}},
				})
				if !errors.Is(err, store.ErrConflict) {
					errs <- err // nil: done
					return
				}
			}
			errs <- errors.New("still conflicting after 100 attempts")
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	var counter string
	f.s.Records(t.Context(), "cas", func(r *store.KeyedRecord) error {
		if r.Key == "counter" {
			counter = string(r.State)
		}
		return nil
	})
	if len(counter) != n {
		t.Fatalf("counter after %d racing increments = %q (%d), want %d", n, counter, len(counter), n)
	}
}
