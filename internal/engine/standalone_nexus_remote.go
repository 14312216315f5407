package engine

import (
	"context"
	"encoding/json"

	"github.com/sundial-io/sundial/internal/execution"
)

// opStandaloneNexusDone delivers a handler workflow's outcome to a
// standalone Nexus operation another node owns (a cluster: the handler
// workflow's node is rarely the operation's).
const opStandaloneNexusDone = "standaloneNexusCompleted"

type standaloneNexusDoneArgs struct {
	nexusDoneArgs        // Namespace; WorkflowID: the operation id; RequestID: the handler request id
	RunID         string // the operation's run
}

// deliverStandaloneNexus delivers a handler workflow's outcome to the
// operation its callback token names, here or on its owner. Only trouble
// worth retrying is an error (retried by the action loop).
func (e *Engine) deliverStandaloneNexus(ctx context.Context, tok nexusCallbackToken, o execution.NexusOutcome) error {
	if !e.remote(tok.Namespace, tok.Operation) {
		return e.completeStandaloneNexus(tok, o)
	}
	a := standaloneNexusDoneArgs{nexusDoneArgs: nexusDoneArgs{Namespace: tok.Namespace, WorkflowID: tok.Operation, RequestID: tok.RequestID,
		OperationToken: o.OperationToken, Result: pbBytes(o.Result), Failure: pbBytes(o.Failure), Canceled: o.Canceled}, RunID: tok.RunID}
	for _, l := range o.StartLinks {
		a.StartLinks = append(a.StartLinks, pbBytes(l))
	}
	err := e.peers.Call(ctx, tok.Namespace, tok.Operation, opStandaloneNexusDone, a, nil)
	if retryable(err) {
		return err
	}
	return nil
}

// handleStandaloneNexusDone is opStandaloneNexusDone on the operation's
// owner.
func (e *Engine) handleStandaloneNexusDone(args []byte) error {
	var a standaloneNexusDoneArgs
	if err := json.Unmarshal(args, &a); err != nil {
		return err
	}
	o, err := a.outcome()
	if err != nil {
		return err
	}
	return e.completeStandaloneNexus(nexusCallbackToken{Namespace: a.Namespace, Operation: a.WorkflowID, RunID: a.RunID, RequestID: a.RequestID}, o)
}
