package batch

import (
	"context"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/sundial-io/sundial/internal/store"
)

// Finished jobs are kept for their namespace's retention period, as
// Temporal keeps a finished batch job's workflow, and then deleted. Jobs
// of a namespace that no longer exists (deleted) go once they have
// finished.

// retentionInterval is how often finished jobs are looked at.
const retentionInterval = time.Minute

func (b *Batcher) startRetention() {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		t := time.NewTicker(retentionInterval)
		defer t.Stop()
		for {
			select {
			case <-b.ctx.Done():
				return
			case <-t.C:
			}
			if _, err := b.PurgeExpired(b.ctx); err != nil && b.ctx.Err() == nil {
				b.log.Warn("batch job retention pass failed", "err", err)
			}
		}
	}()
}

// PurgeExpired deletes the finished jobs whose retention has passed and
// returns how many it deleted.
func (b *Batcher) PurgeExpired(ctx context.Context) (int, error) {
	now := b.eng.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	var del []*job
	retention := map[string]time.Duration{}
	for k, j := range b.jobs {
		j.mu.Lock()
		closed, closeTime := enumspb.BatchOperationState(j.st.State) != enumspb.BATCH_OPERATION_STATE_RUNNING, j.st.CloseTime
		j.mu.Unlock()
		if !closed {
			continue
		}
		ret, ok := retention[k.ns]
		if !ok {
			ret = -1 // namespace gone: delete now
			if n, err := b.eng.DescribeNamespace(k.ns, ""); err == nil {
				ret = n.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration()
			}
			retention[k.ns] = ret
		}
		if ret == 0 {
			continue // no retention set: kept
		}
		if ret < 0 || closeTime.Add(ret).Before(now) {
			del = append(del, j)
		}
	}
	if len(del) == 0 {
		return 0, nil
	}
	// One write on a single node; on a cluster one per shard, each under
	// that shard's fence.
	byFence := map[*store.Fence][]store.BatchJobKey{}
	fences := map[int]*store.Fence{}
	for _, j := range del {
		f := j.fence
		if f != nil {
			if g, ok := fences[f.Shard]; ok {
				f = g
			} else {
				fences[f.Shard] = f
			}
		}
		byFence[f] = append(byFence[f], store.BatchJobKey{Namespace: j.key.ns, JobID: j.key.id})
	}
	n := 0
	for f, keys := range byFence {
		c, err := b.st.Apply(&store.Batch{Fence: f, BatchJobDeletes: keys})
		if err == nil {
			err = c.Wait()
		}
		if err != nil {
			b.lostShard(err)
			return n, err
		}
		for _, k := range keys {
			delete(b.jobs, key{k.Namespace, k.JobID})
		}
		n += len(keys)
	}
	return n, nil
}
