package nexusexec

import (
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"
)

// FuzzDecode: a stored record in any state of corruption is an error,
// never a panic, and what decodes encodes again.
func FuzzDecode(f *testing.F) {
	o := New("ns", "run", "ep", "req", &workflowservice.StartNexusOperationExecutionRequest{OperationId: "op", Endpoint: "e", Service: "s", Operation: "o"}, time.Unix(1, 0))
	b, _ := o.Encode()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := Decode(b)
		if err != nil {
			return
		}
		if _, err := o.Encode(); err != nil {
			t.Fatal(err)
		}
		o.Info(time.Unix(2, 0))
		o.PollResponse()
		o.NextDeadline()
	})
}

// FuzzNormalize: any start request (decoded from arbitrary bytes) is
// normalized or refused, never a panic; a normalized one makes an
// operation whose state can be described and ticked.
func FuzzNormalize(f *testing.F) {
	b, _ := proto.Marshal(&workflowservice.StartNexusOperationExecutionRequest{OperationId: "op", Endpoint: "e", Service: "s", Operation: "o"})
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		in := &workflowservice.StartNexusOperationExecutionRequest{}
		if proto.Unmarshal(b, in) != nil {
			return
		}
		req, err := Normalize(in)
		if err != nil {
			return
		}
		o := New("ns", "run", "ep", "req", req, time.Unix(1, 0))
		o.RequestHeader(time.Unix(2, 0))
		o.Tick(time.Unix(3, 0).Add(time.Duration(1) << 40))
		o.Info(time.Unix(4, 0))
	})
}
