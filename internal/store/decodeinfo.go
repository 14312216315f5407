package store

import (
	"errors"
	"slices"

	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

var errBadInfo = errors.New("store: malformed WorkflowExecutionInfo encoding")

// DecodeInfo decodes the fields of an encoded WorkflowExecutionInfo whose
// numbers are in fields (all of them when fields is nil). A scan that
// filters on a field or two skips decoding (and allocating) the rest: for
// a task queue filter this is most of the cost of reading a summary.
// Fields are picked from the wire bytes and decoded as one message, so
// repeated and merged fields decode exactly as proto.Unmarshal would.
func DecodeInfo(b []byte, fields []protoreflect.FieldNumber) (*workflowpb.WorkflowExecutionInfo, error) {
	info := &workflowpb.WorkflowExecutionInfo{}
	if fields == nil {
		return info, proto.Unmarshal(b, info)
	}
	var picked []byte
	for rest := b; len(rest) > 0; {
		num, typ, n := protowire.ConsumeTag(rest)
		if n < 0 {
			return nil, errBadInfo
		}
		m := protowire.ConsumeFieldValue(num, typ, rest[n:])
		if m < 0 {
			return nil, errBadInfo
		}
		if slices.Contains(fields, num) {
			picked = append(picked, rest[:n+m]...)
		}
		rest = rest[n+m:]
	}
	return info, proto.Unmarshal(picked, info)
}
