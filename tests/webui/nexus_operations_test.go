package webui_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/nexus-rpc/sdk-go/nexus"
	enumspb "go.temporal.io/api/enums/v1"
	nexuspb "go.temporal.io/api/nexus/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/types/known/durationpb"
)

const (
	nexusOpsQueue    = "webui-nexus-ops"
	nexusOpsEndpoint = "webui-nexus-ops-endpoint"
	nexusOpsService  = "ui-greeter"
	nexusOpID        = "ui-standalone-nexus-op"
)

var uiNexusGreet = nexus.NewSyncOperation("greet", func(ctx context.Context, name string, _ nexus.StartOperationOptions) (string, error) {
	return "Hello, " + name + "!", nil
})

// TestWebUINexusOperations: the Web UI's Nexus Operations pages (shown
// because namespaces advertise the standaloneNexusOperation capability)
// list a standalone Nexus operation started through the gRPC API and show
// its page, with no error on the page and no failed API call behind it.
func TestWebUINexusOperations(t *testing.T) {
	chromium := findChromium(t)
	bin := buildSundial(t, t.TempDir())
	srv := startSundial(t, bin)
	c, err := client.Dial(client.Options{HostPort: srv.addr, Logger: quietLogger{}})
	if err != nil {
		t.Fatalf("dial %s: %v", srv.addr, err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	if _, err := c.OperatorService().CreateNexusEndpoint(ctx, &operatorservice.CreateNexusEndpointRequest{Spec: &nexuspb.EndpointSpec{
		Name: nexusOpsEndpoint, Target: &nexuspb.EndpointTarget{Variant: &nexuspb.EndpointTarget_Worker_{
			Worker: &nexuspb.EndpointTarget_Worker{Namespace: "default", TaskQueue: nexusOpsQueue}}},
	}}); err != nil {
		t.Fatal(err)
	}
	svc := nexus.NewService(nexusOpsService)
	svc.MustRegister(uiNexusGreet)
	w := worker.New(c, nexusOpsQueue, worker.Options{})
	w.RegisterNexusService(svc)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	in, err := converter.GetDefaultDataConverter().ToPayload("Nexus")
	if err != nil {
		t.Fatal(err)
	}
	started, err := c.WorkflowService().StartNexusOperationExecution(ctx, &workflowservice.StartNexusOperationExecutionRequest{
		Namespace: "default", RequestId: "ui-op-request", OperationId: nexusOpID, Endpoint: nexusOpsEndpoint,
		Service: nexusOpsService, Operation: "greet", Input: in, ScheduleToCloseTimeout: durationpb.New(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	for {
		p, err := c.WorkflowService().PollNexusOperationExecution(ctx, &workflowservice.PollNexusOperationExecutionRequest{
			Namespace: "default", OperationId: nexusOpID, RunId: started.RunId})
		if err != nil {
			t.Fatal(err)
		}
		if p.WaitStage == enumspb.NEXUS_OPERATION_WAIT_STAGE_CLOSED {
			break
		}
	}

	b := newBrowser(t, chromium)
	watch := watchAPI(b)
	ns := srv.ui + "/namespaces/default"
	b.open("nexus operations list", ns+"/nexus-operations", nexusOpID)
	b.waitRows("nexus operations list", "a row for the standalone Nexus operation", func(rows []string) bool {
		return hasRow(rows, nexusOpID, nexusOpsEndpoint)
	})
	checkPage(b, watch, "nexus operations list")
	b.screenshot("standalone-nexus-operations")
	b.open("nexus operation page", ns+"/nexus-operations/"+url.PathEscape(nexusOpID)+"/"+started.RunId,
		nexusOpID, nexusOpsService, "greet")
	checkPage(b, watch, "nexus operation page")
	b.screenshot("standalone-nexus-operation")
}
