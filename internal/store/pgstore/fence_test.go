package pgstore

import (
	"errors"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/store/pgstore/pgtest"
)

// TestFencedBatchFailsAlone puts batches of several shards, one of them
// written under a lease another node has since taken, into ONE group
// transaction: the stale batch fails with store.ErrFenced, the others
// (fenced and valid, and unfenced) commit, and the store keeps working.
func TestFencedBatchFailsAlone(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	url := pg.NewDatabase(t)
	s := mustOpen(t, url)
	defer s.Close()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	// Shard 1 is node a's at epoch 3; shard 2 was a's at epoch 1 and is
	// now b's at epoch 2; shard 3 is free (released at epoch 5).
	if _, err := conn.Exec(t.Context(), `INSERT INTO shard_leases (shard, owner, epoch, expires_at) VALUES
		(1, 'a', 3, now() + interval '1 hour'), (2, 'b', 2, now() + interval '1 hour'), (3, NULL, 5, now())`); err != nil {
		t.Fatal(err)
	}
	rec := func(key string, f *store.Fence) *store.Batch {
		return &store.Batch{Records: []*store.KeyedRecord{{Kind: "k", Key: key, State: []byte(key)}}, Fence: f}
	}
	release := make(chan struct{})
	held := make(chan struct{}, 1)
	first := true
	s.beforeCommit = func() {
		if first {
			first = false
			held <- struct{}{}
			<-release
		}
	}
	c0, err := s.Apply(rec("first", nil))
	if err != nil {
		t.Fatal(err)
	}
	<-held // the writer holds the first group; the next ones queue into one
	batches := map[string]*store.Batch{
		"a1":        rec("a1", &store.Fence{Shard: 1, Node: "a", Epoch: 3}),
		"stale":     rec("stale", &store.Fence{Shard: 2, Node: "a", Epoch: 1}),
		"unfenced":  rec("unfenced", nil),
		"b2":        rec("b2", &store.Fence{Shard: 2, Node: "b", Epoch: 2}),
		"free":      rec("free", &store.Fence{Shard: 3, Node: "a", Epoch: 5}),
		"norow":     rec("norow", &store.Fence{Shard: 99, Node: "a", Epoch: 1}),
		"a1-second": rec("a1-second", &store.Fence{Shard: 1, Node: "a", Epoch: 3}),
	}
	order := []string{"a1", "stale", "unfenced", "b2", "free", "norow", "a1-second"}
	commits := map[string]store.Commit{}
	for _, k := range order {
		c, err := s.Apply(batches[k])
		if err != nil {
			t.Fatal(err)
		}
		commits[k] = c
	}
	close(release)
	if err := c0.Wait(); err != nil {
		t.Fatal(err)
	}
	fenced := map[string]string{"stale": "held by node b at epoch 2", "free": "now free", "norow": "no lease row"}
	for _, k := range order {
		err := commits[k].Wait()
		if want, ok := fenced[k]; ok {
			if !errors.Is(err, store.ErrFenced) || !strings.Contains(err.Error(), want) {
				t.Errorf("batch %s: err %v, want store.ErrFenced saying %q", k, err, want)
			}
		} else if err != nil {
			t.Errorf("batch %s: %v, want committed", k, err)
		}
	}
	if err := s.CheckWritable(); err != nil {
		t.Fatalf("store broken after a fenced batch: %v", err)
	}
	c, err := s.Apply(rec("after", &store.Fence{Shard: 1, Node: "a", Epoch: 3}))
	if err == nil {
		err = c.Wait()
	}
	if err != nil {
		t.Fatalf("write after the fenced group: %v", err)
	}
	if _, err := s.Apply(rec("bad", &store.Fence{Shard: 1, Node: "", Epoch: 3})); err == nil || !strings.Contains(err.Error(), "invalid fence") {
		t.Fatalf("fence without a node: err %v", err)
	}
	var got []string
	if err := s.Records(t.Context(), "k", func(r *store.KeyedRecord) error {
		got = append(got, r.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	want := "a1,a1-second,after,b2,first,unfenced"
	if strings.Join(got, ",") != want {
		t.Fatalf("records %v, want %s", got, want)
	}
}

// TestFenceHoldsLeaseUntilCommit: while a fenced group's transaction is
// open, a takeover of its shard (an UPDATE of the lease row) cannot
// proceed: it waits for the commit, so the write lands under the old
// epoch before the new one exists, never after.
func TestFenceHoldsLeaseUntilCommit(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	url := pg.NewDatabase(t)
	s := mustOpen(t, url)
	defer s.Close()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	if _, err := conn.Exec(t.Context(), `INSERT INTO shard_leases (shard, owner, epoch, expires_at) VALUES (1, 'a', 1, now())`); err != nil {
		t.Fatal(err)
	}
	const takeover = `UPDATE shard_leases SET owner = 'b', epoch = epoch + 1 WHERE shard = 1 AND epoch = 1`
	var during error
	s.afterFenceCheck = func() {
		// A takeover on another connection, giving up after 300 ms of
		// waiting for the lock.
		_, during = conn.Exec(t.Context(), `SET lock_timeout = '300ms'; `+takeover)
	}
	c, err := s.Apply(&store.Batch{Records: []*store.KeyedRecord{{Kind: "k", Key: "x", State: []byte("a")}},
		Fence: &store.Fence{Shard: 1, Node: "a", Epoch: 1}})
	if err == nil {
		err = c.Wait()
	}
	if err != nil {
		t.Fatalf("fenced write under a valid lease: %v", err)
	}
	if during == nil || !strings.Contains(during.Error(), "55P03") {
		t.Fatalf("takeover during the fenced transaction: %v, want it blocked (lock timeout, SQLSTATE 55P03)", during)
	}
	s.afterFenceCheck = nil
	if tag, err := conn.Exec(t.Context(), takeover); err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("takeover after the commit: %v, %v", tag, err)
	}
	c, err = s.Apply(&store.Batch{Records: []*store.KeyedRecord{{Kind: "k", Key: "x", State: []byte("a-late")}},
		Fence: &store.Fence{Shard: 1, Node: "a", Epoch: 1}})
	if err == nil {
		err = c.Wait()
	}
	if !errors.Is(err, store.ErrFenced) {
		t.Fatalf("write at the old epoch after the takeover: %v, want store.ErrFenced", err)
	}
	var got []string
	s.Records(t.Context(), "k", func(r *store.KeyedRecord) error {
		got = append(got, string(r.State))
		return nil
	})
	if strings.Join(got, ",") != "a" {
		t.Fatalf("records %v, want [a]", got)
	}
}

// BenchmarkApplyFenced measures a batch's Apply and Wait with 32 writers
// at once, unfenced and fenced (the fenced groups take the explicit
// transaction with the lease check).
func BenchmarkApplyFenced(b *testing.B) {
	pg := pgtest.Start(b, pgtest.Options{})
	for _, fenced := range []bool{false, true} {
		b.Run(map[bool]string{false: "unfenced", true: "fenced"}[fenced], func(b *testing.B) {
			url := pg.NewDatabase(b)
			s := mustOpen(b, url)
			defer s.Close()
			conn, err := pgx.Connect(b.Context(), url)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close(b.Context())
			if _, err := conn.Exec(b.Context(), `INSERT INTO shard_leases (shard, owner, epoch, expires_at)
				SELECT s, 'a', 1, now() FROM generate_series(0, 63) AS s`); err != nil {
				b.Fatal(err)
			}
			var n atomic.Int64
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					batch := &store.Batch{Records: []*store.KeyedRecord{{Kind: "k", Key: strconv.FormatInt(i, 10), State: []byte("v")}}}
					if fenced {
						batch.Fence = &store.Fence{Shard: int(i % 64), Node: "a", Epoch: 1}
					}
					c, err := s.Apply(batch)
					if err == nil {
						err = c.Wait()
					}
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
