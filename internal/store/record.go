package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Field numbers of the RunRecord encoding. The encoding is the protobuf wire
// format written by hand, so it stays compact, needs no generated code, and
// old binaries skip fields added by newer ones. Numbers must never be reused.
const (
	fieldNamespace      protowire.Number = 1
	fieldWorkflowID     protowire.Number = 2
	fieldRunID          protowire.Number = 3
	fieldInfo           protowire.Number = 4 // proto.Marshal(WorkflowExecutionInfo)
	fieldStartRequestID protowire.Number = 5
	fieldActivity       protowire.Number = 6 // repeated proto.Marshal(PendingActivityInfo)
	fieldBuffered       protowire.Number = 7 // repeated proto.Marshal(HistoryEvent)
	fieldResetRunID     protowire.Number = 8
	fieldResetRequestID protowire.Number = 9
	fieldNexusOperation protowire.Number = 10 // repeated proto.Marshal(PendingNexusOperationInfo)
	fieldDue            protowire.Number = 11 // 8 bytes: unix nanoseconds, big-endian
	fieldSnapshot       protowire.Number = 12 // execution's encoding of the run's state

	// fieldMax is the highest field number this version writes.
	fieldMax = fieldSnapshot
)

// Marshal encodes r for storage. Every store implementation uses this
// encoding so records can be moved between engines byte for byte.
func (r *RunRecord) Marshal() ([]byte, error) {
	return r.AppendMarshal(nil)
}

// AppendMarshal appends the encoding of r to dst, letting callers reuse a
// buffer.
func (r *RunRecord) AppendMarshal(dst []byte) ([]byte, error) {
	opts := proto.MarshalOptions{}
	dst = appendString(dst, fieldNamespace, r.Namespace)
	dst = appendString(dst, fieldWorkflowID, r.WorkflowID)
	dst = appendString(dst, fieldRunID, r.RunID)
	if r.Info != nil {
		var err error
		if dst, err = appendMessage(dst, fieldInfo, r.Info, opts); err != nil {
			return nil, fmt.Errorf("store: marshal run info: %w", err)
		}
	}
	dst = appendString(dst, fieldStartRequestID, r.StartRequestID)
	for _, a := range r.Activities {
		var err error
		if dst, err = appendMessage(dst, fieldActivity, a, opts); err != nil {
			return nil, fmt.Errorf("store: marshal pending activity: %w", err)
		}
	}
	for _, e := range r.Buffered {
		var err error
		if dst, err = appendMessage(dst, fieldBuffered, e, opts); err != nil {
			return nil, fmt.Errorf("store: marshal buffered event: %w", err)
		}
	}
	dst = appendString(dst, fieldResetRunID, r.ResetRunID)
	dst = appendString(dst, fieldResetRequestID, r.ResetRequestID)
	for _, o := range r.NexusOperations {
		var err error
		if dst, err = appendMessage(dst, fieldNexusOperation, o, opts); err != nil {
			return nil, fmt.Errorf("store: marshal pending Nexus operation: %w", err)
		}
	}
	if !r.Due.IsZero() {
		dst = protowire.AppendTag(dst, fieldDue, protowire.BytesType)
		dst = protowire.AppendBytes(dst, binary.BigEndian.AppendUint64(nil, uint64(r.Due.UnixNano())))
	}
	if len(r.Snapshot) > 0 {
		dst = protowire.AppendTag(dst, fieldSnapshot, protowire.BytesType)
		dst = protowire.AppendBytes(dst, r.Snapshot)
	}
	return dst, nil
}

// Unmarshal replaces r with the record encoded in b. Fields it does not know
// (written by a newer version) are skipped, not rejected.
func (r *RunRecord) Unmarshal(b []byte) error {
	*r = RunRecord{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("store: corrupt run record: %w", protowire.ParseError(n))
		}
		b = b[n:]
		if typ != protowire.BytesType || num > fieldMax {
			// Unknown field (or a known number with a type we never
			// write): skip it for forward compatibility.
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return fmt.Errorf("store: corrupt run record: %w", protowire.ParseError(n))
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return fmt.Errorf("store: corrupt run record: %w", protowire.ParseError(n))
		}
		b = b[n:]
		if err := r.setField(num, v); err != nil {
			return err
		}
	}
	return nil
}

// setField decodes one length-delimited field into r.
func (r *RunRecord) setField(num protowire.Number, v []byte) error {
	switch num {
	case fieldNamespace:
		r.Namespace = string(v)
	case fieldWorkflowID:
		r.WorkflowID = string(v)
	case fieldRunID:
		r.RunID = string(v)
	case fieldStartRequestID:
		r.StartRequestID = string(v)
	case fieldResetRunID:
		r.ResetRunID = string(v)
	case fieldResetRequestID:
		r.ResetRequestID = string(v)
	case fieldDue:
		if len(v) != 8 {
			return fmt.Errorf("store: corrupt run record: due of %d bytes", len(v))
		}
		r.Due = time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC()
	case fieldSnapshot:
		r.Snapshot = append([]byte(nil), v...) // b may be reused by the store
	case fieldInfo:
		r.Info = &workflowpb.WorkflowExecutionInfo{}
		if err := proto.Unmarshal(v, r.Info); err != nil {
			return fmt.Errorf("store: corrupt run info: %w", err)
		}
	case fieldActivity:
		a := &workflowpb.PendingActivityInfo{}
		if err := proto.Unmarshal(v, a); err != nil {
			return fmt.Errorf("store: corrupt pending activity: %w", err)
		}
		r.Activities = append(r.Activities, a)
	case fieldNexusOperation:
		o := &workflowpb.PendingNexusOperationInfo{}
		if err := proto.Unmarshal(v, o); err != nil {
			return fmt.Errorf("store: corrupt pending Nexus operation: %w", err)
		}
		r.NexusOperations = append(r.NexusOperations, o)
	case fieldBuffered:
		e := &historypb.HistoryEvent{}
		if err := proto.Unmarshal(v, e); err != nil {
			return fmt.Errorf("store: corrupt buffered event: %w", err)
		}
		r.Buffered = append(r.Buffered, e)
	}
	return nil
}

// appendString writes a string field, omitting it when empty (as proto3
// does), so an absent field and "" decode the same.
func appendString(dst []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return dst
	}
	dst = protowire.AppendTag(dst, num, protowire.BytesType)
	return protowire.AppendString(dst, s)
}

// appendMessage writes m as a length-delimited field. A nil element of a
// repeated field is rejected rather than silently dropped.
func appendMessage(dst []byte, num protowire.Number, m proto.Message, opts proto.MarshalOptions) ([]byte, error) {
	if m == nil || !m.ProtoReflect().IsValid() {
		return nil, errors.New("nil message")
	}
	dst = protowire.AppendTag(dst, num, protowire.BytesType)
	size := opts.Size(m)
	dst = protowire.AppendVarint(dst, uint64(size))
	start := len(dst)
	opts.UseCachedSize = true // Size above just computed and cached it
	dst, err := opts.MarshalAppend(dst, m)
	if err != nil {
		return nil, err
	}
	if len(dst)-start != size {
		return nil, errors.New("message size changed while marshaling")
	}
	return dst, nil
}
