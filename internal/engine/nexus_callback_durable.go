package engine

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"go.temporal.io/api/serviceerror"

	"github.com/sundial-io/sundial/internal/execution"
	"github.com/sundial-io/sundial/internal/store"
)

// Pending http(s) completion callbacks are durable: when a run closes for
// good with such callbacks, the write that closes it also stores one keyed
// record per callback (kind recordKindHTTPCallback) naming the run and the
// callback's position in its CompletionCallbacks. The record is deleted
// once the callback is delivered or refused for good. At startup every
// record left is driven again: the closed run is read from the store
// (its callbacks and outcome are derived from its history, as when it
// closed) and the POST retried. A callback delivered just before a crash
// may be delivered twice, as in Temporal (delivery is at least once).

// recordKindHTTPCallback is the store.KeyedRecord kind of pending http(s)
// completion callbacks.
const recordKindHTTPCallback = "nexus-http-callback"

// httpCallbackRef names one pending callback: the run and the callback's
// index in the run's CompletionCallbacks().
type httpCallbackRef struct {
	Namespace  string `json:"ns"`
	WorkflowID string `json:"wid"`
	RunID      string `json:"rid"`
	Index      int    `json:"i"`
}

// key is the record key: namespace, run id and index, length-prefixed.
func (r httpCallbackRef) key() string {
	var b strings.Builder
	for _, s := range []string{r.Namespace, r.RunID, strconv.Itoa(r.Index)} {
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
	}
	return b.String()
}

// isHTTPCallback reports whether a completion callback is delivered by
// HTTP (anything but the in-process temporal://system URL).
func isHTTPCallback(url string) bool { return url != NexusSystemCallbackURL }

// httpCallbackRecords returns the records of the http(s) callbacks that
// the actions of a write will deliver (persist adds them to the write
// that closes the run, so they are exactly as durable as the close).
func httpCallbackRecords(actions []pendingAction) []*store.KeyedRecord {
	var out []*store.KeyedRecord
	for _, a := range actions {
		if a.Kind != execution.DeliverNexusCallbacks {
			continue
		}
		for i, cb := range a.run.CompletionCallbacks() {
			n := cb.GetNexus()
			if n == nil || !isHTTPCallback(n.Url) {
				continue
			}
			ref := httpCallbackRef{Namespace: a.run.Namespace, WorkflowID: a.run.WorkflowID, RunID: a.run.RunID, Index: i}
			data, _ := json.Marshal(ref)
			out = append(out, &store.KeyedRecord{Kind: recordKindHTTPCallback, Key: ref.key(), State: data})
		}
	}
	return out
}

// driveHTTPCallback posts callback i of a closed run until it is
// delivered or refused, then deletes its record; when the engine stops
// first the record stays, for the next process.
func (e *Engine) driveHTTPCallback(run *execution.State, i int) {
	cbs := run.CompletionCallbacks()
	ref := httpCallbackRef{Namespace: run.Namespace, WorkflowID: run.WorkflowID, RunID: run.RunID, Index: i}
	if i < len(cbs) && cbs[i].GetNexus() != nil {
		if !e.retryHTTPCallback(run, cbs[i].GetNexus(), nexusOutcomeOf(run)) {
			return
		}
	}
	e.dropHTTPCallback(ref)
}

// dropHTTPCallback deletes a callback's record; a failure is only logged
// (the callback is then delivered again after the next restart).
func (e *Engine) dropHTTPCallback(ref httpCallbackRef) {
	err := e.writeDurable(&store.Batch{RecordDeletes: []store.RecordKey{{Kind: recordKindHTTPCallback, Key: ref.key()}}})
	if err != nil {
		e.log.Warn("deleting a delivered Nexus completion callback's record", "workflow", ref.WorkflowID, "run", ref.RunID, "error", err)
	}
}

// redriveHTTPCallbacks drives, in the background, every http(s) callback
// an earlier process left undelivered.
func (e *Engine) redriveHTTPCallbacks() error {
	var refs []httpCallbackRef
	err := e.store.Records(context.Background(), recordKindHTTPCallback, func(r *store.KeyedRecord) error {
		var ref httpCallbackRef
		if err := json.Unmarshal(r.State, &ref); err != nil || ref.RunID == "" {
			e.log.Warn("dropping an unreadable Nexus completion callback record", "key", r.Key)
			return nil
		}
		refs = append(refs, ref)
		return nil
	})
	if err != nil || len(refs) == 0 {
		return err
	}
	e.log.Info("re-driving undelivered Nexus completion callbacks", "count", len(refs))
	for _, ref := range refs {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			run, err := e.loadOldRun(context.Background(), ref.Namespace, ref.WorkflowID, ref.RunID)
			var nf *serviceerror.NotFound
			switch {
			case errors.As(err, &nf):
				e.dropHTTPCallback(ref) // the run was deleted since
			case err != nil:
				e.log.Warn("reading the run of an undelivered Nexus completion callback", "workflow", ref.WorkflowID, "run", ref.RunID, "error", err)
			default:
				e.driveHTTPCallback(run, ref.Index)
			}
		}()
	}
	return nil
}
