package frontend

import (
	"math"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sundial-io/sundial/internal/engine"
)

// Fuzz targets for request validation: none may panic, and what they
// accept must satisfy the invariants the engine relies on. Short runs:
//   go test -run X -fuzz FuzzValidateStart -fuzztime 20s ./internal/frontend
// (likewise FuzzStartRequestBytes, FuzzUpdateRequestBytes, FuzzPageToken,
// FuzzMultiOperationBytes).

func FuzzValidateStart(f *testing.F) {
	f.Add("wf", "Type", "queue", int64(0), int64(0), int64(0), int64(0), "req", int32(0), int32(0), 0.0, int64(0), int64(0), int32(0), "", "CustomKeywordField", []byte(`"x"`), 10)
	f.Add("", "", "", int64(-1), int64(-1), int64(-1), int64(-1), "", int32(1), int32(4), 0.5, int64(-1), int64(5), int32(-1), "* * * * *", "NoSuch", []byte{0xff}, 0)
	f.Add("w", "T", "q", int64(math.MaxInt64), int64(math.MinInt64), int64(1), int64(1), "r", int32(99), int32(99), math.NaN(), int64(math.MaxInt64), int64(math.MinInt64), int32(math.MaxInt32), "@every -1s", "CustomIntField", []byte("1e400"), 3<<20)
	f.Fuzz(func(t *testing.T, id, typ, tq string, exec, run, task, delay int64, reqID string, reuse, conflict int32,
		backoff float64, initial, maximum int64, attempts int32, cron, saKey string, saVal []byte, inputSize int) {
		if inputSize < 0 || inputSize > 4<<20 {
			inputSize = 0
		}
		p := &engine.StartParams{
			Namespace: "default", WorkflowID: id, WorkflowType: &commonpb.WorkflowType{Name: typ}, TaskQueue: tq,
			Input:       &commonpb.Payloads{Payloads: []*commonpb.Payload{{Data: make([]byte, inputSize)}}},
			ExecTimeout: time.Duration(exec), RunTimeout: time.Duration(run), TaskTimeout: time.Duration(task), StartDelay: time.Duration(delay),
			RequestID: reqID, ReusePolicy: enumspb.WorkflowIdReusePolicy(reuse), ConflictPolicy: enumspb.WorkflowIdConflictPolicy(conflict),
			RetryPolicy: &commonpb.RetryPolicy{BackoffCoefficient: backoff, InitialInterval: durationpb.New(time.Duration(initial)),
				MaximumInterval: durationpb.New(time.Duration(maximum)), MaximumAttempts: attempts},
			Search:       &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{saKey: {Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: saVal}}},
			CronSchedule: cron,
		}
		if err := validateStart(p); err != nil {
			return
		}
		switch {
		case p.WorkflowID == "" || len(p.WorkflowID) > maxIDLength:
			t.Fatalf("accepted WorkflowId of length %d", len(p.WorkflowID))
		case p.TaskQueue == "" || len(p.TaskQueue) > maxIDLength:
			t.Fatalf("accepted TaskQueue of length %d", len(p.TaskQueue))
		case p.ExecTimeout < 0 || p.RunTimeout < 0 || p.TaskTimeout < 0 || p.StartDelay < 0:
			t.Fatalf("accepted a negative duration: %v %v %v %v", p.ExecTimeout, p.RunTimeout, p.TaskTimeout, p.StartDelay)
		case proto.Size(p.Input) > MaxPayloadBytes:
			t.Fatalf("accepted input of %d bytes", proto.Size(p.Input))
		}
	})
}

// FuzzStartRequestBytes decodes arbitrary bytes as a start request (so any
// field may be nil, huge or out of range) and validates it as the RPC does.
func FuzzStartRequestBytes(f *testing.F) {
	seed := &workflowservice.StartWorkflowExecutionRequest{Namespace: "default", WorkflowId: "w", WorkflowType: &commonpb.WorkflowType{Name: "T"},
		WorkflowExecutionTimeout: durationpb.New(-time.Second), RetryPolicy: &commonpb.RetryPolicy{BackoffCoefficient: 0.5},
		SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{"CustomKeywordField": nil}}, CronSchedule: "0 0 * * *"}
	b, _ := proto.Marshal(seed)
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := &workflowservice.StartWorkflowExecutionRequest{}
		if proto.Unmarshal(b, r) != nil {
			return
		}
		_ = validateStart(engine.StartRequestParams(r))
		_ = checkPayloads("Input", r.Input)
		_ = checkExecution(&commonpb.WorkflowExecution{WorkflowId: r.WorkflowId})
	})
}

func FuzzUpdateRequestBytes(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x12, 0x00, 0x22, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := &workflowservice.UpdateWorkflowExecutionRequest{}
		if proto.Unmarshal(b, r) != nil {
			return
		}
		if validateUpdate(r) == nil {
			if r.Request.GetMeta().GetUpdateId() == "" || r.Request.GetInput().GetName() == "" || r.WorkflowExecution.GetWorkflowId() == "" {
				t.Fatalf("accepted an update without id, name or workflow id: %v", r)
			}
		}
	})
}

// FuzzMultiOperationBytes runs the validation half of ExecuteMultiOperation
// (the engine is nil, so only requests that fail validation are sent; one
// that passes is caught by the recover and ignored).
func FuzzMultiOperationBytes(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x12, 0x00, 0x12, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := &workflowservice.ExecuteMultiOperationRequest{}
		if proto.Unmarshal(b, r) != nil {
			return
		}
		r.Namespace = ""
		s := &Service{}
		// Namespace "" fails first; exercise the operation checks directly.
		if len(r.Operations) == 2 {
			if st := r.Operations[0].GetStartWorkflow(); st != nil {
				_ = validateStart(engine.StartRequestParams(st))
			}
			if u := r.Operations[1].GetUpdateWorkflow(); u != nil {
				_ = validateUpdate(u)
			}
		}
		if _, err := s.ExecuteMultiOperation(t.Context(), r); err == nil {
			t.Fatal("accepted a request without a namespace")
		}
	})
}

// FuzzPageToken pages a list with arbitrary tokens and page sizes.
func FuzzPageToken(f *testing.F) {
	f.Add([]byte{}, int32(0), 5)
	f.Add(pageToken(3), int32(2), 5)
	f.Add([]byte{0xff, 0xff}, int32(-1), 0)
	f.Add(protowire.AppendVarint(nil, 1<<63), int32(10), 3)
	f.Add(protowire.AppendVarint(nil, math.MaxInt64-5), int32(1000), 3)
	f.Fuzz(func(t *testing.T, token []byte, size int32, n int) {
		if n < 0 || n > 3000 {
			n = 0
		}
		infos := make([]*workflowpb.WorkflowExecutionInfo, n)
		p, next, err := page(infos, token, size)
		if err != nil {
			return
		}
		if len(p) > 1000 || len(p) > n {
			t.Fatalf("page of %d from %d", len(p), n)
		}
		if next != nil {
			off, err := pageOffset(next)
			if err != nil || off <= 0 || off > n {
				t.Fatalf("next token %x decodes to %d, %v (n=%d)", next, off, err, n)
			}
		}
	})
}
