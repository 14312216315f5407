package store

import "errors"

// Fence names the shard lease a batch is written under, when several
// Sundial nodes share one database (see internal/cluster and
// docs/CLUSTER.md). A store that supports fencing (pgstore) checks, in
// the transaction that writes the batch, that the shard's lease is still
// held by Node at Epoch, and refuses the batch with ErrFenced otherwise:
// once another node has taken the shard (with a higher epoch), the old
// owner can never write for it again, whatever its clock says.
//
// A nil Fence means an unfenced write (single-node mode, and
// cluster-wide records such as namespaces); Pebble ignores fences, as it
// is never shared.
type Fence struct {
	Shard int
	Node  string
	Epoch int64
}

// ErrFenced is returned (wrapped, with the shard and epochs) by
// Commit.Wait for a batch whose Fence no longer holds: the writer lost
// the shard's lease. Nothing of the batch was written; other batches are
// not affected. The engine maps it to Unavailable (the caller retries,
// and reaches the shard's new owner).
var ErrFenced = errors.New("store: shard lease lost: write fenced")
