package forward

import (
	"testing"

	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/sundial-io/sundial/internal/tasktoken"
)

// TestStandaloneRouteOfEveryRequest: every WorkflowService request with an
// activity_id or operation_id is routed by it (with its namespace); no
// other request is; a by-id answer naming a workflow is routed to the
// workflow by RouteOf; a standalone task token to its activity id.
func TestStandaloneRouteOfEveryRequest(t *testing.T) {
	sd := workflowservice.File_temporal_api_workflowservice_v1_service_proto.Services().Get(0)
	routed := 0
	for i := 0; i < sd.Methods().Len(); i++ {
		m := sd.Methods().Get(i)
		mt, err := protoregistry.GlobalTypes.FindMessageByName(m.Input().FullName())
		if err != nil {
			t.Fatal(err)
		}
		msg := mt.New()
		fields := msg.Descriptor().Fields()
		if f := fields.ByName("namespace"); f != nil {
			msg.Set(f, protoreflect.ValueOfString("ns"))
		}
		addressed := false
		for _, name := range []protoreflect.Name{"activity_id", "operation_id"} {
			if f := fields.ByName(name); f != nil {
				msg.Set(f, protoreflect.ValueOfString("x"))
				addressed = true
			}
		}
		ns, id, ok := StandaloneRouteOf(msg.Interface())
		switch {
		case addressed && (!ok || ns != "ns" || id != "x"):
			t.Errorf("%s: routed to %q %q %v, want ns x", m.Name(), ns, id, ok)
		case !addressed && ok:
			t.Errorf("%s: routed to %q %q, want not routed", m.Name(), ns, id)
		}
		if ok {
			routed++
		}
	}
	if routed < 15 {
		t.Errorf("only %d requests routed by activity or operation id", routed)
	}
	byID := &workflowservice.RespondActivityTaskCompletedByIdRequest{Namespace: "ns", WorkflowId: "wf", ActivityId: "a"}
	if ns, id, ok := RouteOf(byID); !ok || ns != "ns" || id != "wf" {
		t.Errorf("by-id answer of a workflow activity: %q %q %v", ns, id, ok)
	}
	tok := (&tasktoken.Token{Kind: tasktoken.StandaloneActivity, Namespace: "ns", WorkflowID: "a", RunID: "r"}).Encode()
	if ns, id, ok := RouteOf(&workflowservice.RecordActivityTaskHeartbeatRequest{Namespace: "ns", TaskToken: tok}); !ok || ns != "ns" || id != "a" {
		t.Errorf("standalone activity token: %q %q %v", ns, id, ok)
	}
}
