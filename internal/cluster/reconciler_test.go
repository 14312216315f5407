package cluster

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
)

// A pass runs when asked, a failed pass is retried without being asked
// again, and Run returns once its context is done; a nil Reconciler (a
// single node) ignores Soon.
func TestReconciler(t *testing.T) {
	var nilR *Reconciler
	nilR.Soon()

	r := NewReconciler()
	ctx, cancel := context.WithCancel(context.Background())
	var passes atomic.Int32
	ran := make(chan int32, 10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), "things", func() error {
			n := passes.Add(1)
			ran <- n
			if n == 2 {
				return errors.New("store down")
			}
			return nil
		})
	}()
	wait := func(want int32) {
		t.Helper()
		select {
		case n := <-ran:
			if n != want {
				t.Fatalf("pass %d, want %d", n, want)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("pass %d did not run", want)
		}
	}
	r.Soon()
	wait(1)
	r.Soon()
	wait(2) // fails: retried after a second, unasked
	wait(3)
	cancel()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("Run did not return after its context was done")
	}
}
