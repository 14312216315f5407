// Package tasktoken encodes the opaque task tokens handed to workers.
//
// A token names the task it was issued for (run, event id, attempt), so a
// response to an old or superseded task can be recognized and refused.
// Tokens are not secret: a forged token can only name a task that exists,
// which the worker could complete anyway.
package tasktoken

import (
	"errors"

	"google.golang.org/protobuf/encoding/protowire"
)

// Kind says what a token is for.
type Kind uint8

const (
	Workflow Kind = 1
	Activity Kind = 2
	Query    Kind = 3
	Nexus    Kind = 4
	// NexusCancel: a Nexus cancel-operation task (Attempt is the cancel
	// attempt).
	NexusCancel Kind = 5
	// StandaloneActivity names an attempt of a standalone activity
	// execution (StartActivityExecution): WorkflowID holds the activity
	// id, RunID the activity's run id, ScheduledEventID the attempt's
	// dispatch stamp.
	StandaloneActivity Kind = 6
	// StandaloneNexus and StandaloneNexusCancel name a start or cancel
	// task of a standalone Nexus operation (StartNexusOperationExecution):
	// WorkflowID holds the operation id, RunID its run id, Attempt the
	// start (or cancel) attempt.
	StandaloneNexus       Kind = 7
	StandaloneNexusCancel Kind = 8
)

// Token identifies one dispatched task.
type Token struct {
	Kind             Kind
	Namespace        string
	WorkflowID       string
	RunID            string
	ScheduledEventID int64
	StartedEventID   int64
	Attempt          int32
	QueryID          string
}

const version = 1

// ErrMalformed is returned for bytes that are not a token.
var ErrMalformed = errors.New("malformed task token")

// Encode serializes t.
func (t *Token) Encode() []byte {
	b := make([]byte, 0, 64+len(t.Namespace)+len(t.WorkflowID)+len(t.RunID))
	b = append(b, version, byte(t.Kind))
	b = protowire.AppendString(b, t.Namespace)
	b = protowire.AppendString(b, t.WorkflowID)
	b = protowire.AppendString(b, t.RunID)
	b = protowire.AppendVarint(b, uint64(t.ScheduledEventID))
	b = protowire.AppendVarint(b, uint64(t.StartedEventID))
	b = protowire.AppendVarint(b, uint64(uint32(t.Attempt)))
	b = protowire.AppendString(b, t.QueryID)
	return b
}

// Decode parses a token produced by Encode.
func Decode(b []byte) (*Token, error) {
	if len(b) < 2 || b[0] != version {
		return nil, ErrMalformed
	}
	t := &Token{Kind: Kind(b[1])}
	if t.Kind < Workflow || t.Kind > StandaloneNexusCancel {
		return nil, ErrMalformed
	}
	b = b[2:]
	str := func(dst *string) bool {
		v, n := protowire.ConsumeString(b)
		if n < 0 {
			return false
		}
		*dst, b = v, b[n:]
		return true
	}
	num := func() (uint64, bool) {
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	if !str(&t.Namespace) || !str(&t.WorkflowID) || !str(&t.RunID) {
		return nil, ErrMalformed
	}
	sched, ok1 := num()
	started, ok2 := num()
	attempt, ok3 := num()
	if !ok1 || !ok2 || !ok3 || !str(&t.QueryID) || len(b) != 0 {
		return nil, ErrMalformed
	}
	if int64(sched) < 0 || int64(started) < 0 || attempt > 1<<31-1 {
		return nil, ErrMalformed
	}
	t.ScheduledEventID, t.StartedEventID, t.Attempt = int64(sched), int64(started), int32(attempt)
	if t.Namespace == "" || t.WorkflowID == "" || t.RunID == "" {
		return nil, ErrMalformed
	}
	return t, nil
}
