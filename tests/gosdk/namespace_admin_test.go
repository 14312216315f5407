package gosdk

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"
)

func (e *env) nsClient() client.NamespaceClient {
	e.t.Helper()
	nc, err := client.NewNamespaceClient(client.Options{HostPort: e.srv.Addr(), Logger: quietLogger{}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(nc.Close)
	return nc
}

func (e *env) registerNamespace(nc client.NamespaceClient, name string) {
	e.t.Helper()
	if err := nc.Register(e.ctx(), &workflowservice.RegisterNamespaceRequest{
		Namespace: name, Description: "first", WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
	}); err != nil {
		e.t.Fatalf("register %s: %v", name, err)
	}
}

func requireInvalidArg(t *testing.T, err error, want string) {
	t.Helper()
	var inv *serviceerror.InvalidArgument
	if !errors.As(err, &inv) || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %T %v, want InvalidArgument containing %q", err, err, want)
	}
}

// TestUpdateNamespace changes description, owner, data (merged) and
// retention through the SDK's namespace client, checks the answer and
// describe (also after a restart), and the refusals.
func TestUpdateNamespace(t *testing.T) {
	e := newEnv(t)
	nc := e.nsClient()
	name := "upd-" + uuid.NewString()[:8]
	e.registerNamespace(nc, name)

	err := nc.Update(e.ctx(), &workflowservice.UpdateNamespaceRequest{
		Namespace: name,
		UpdateInfo: &namespacepb.UpdateNamespaceInfo{
			Description: "second", OwnerEmail: "ops@example.com", Data: map[string]string{"team": "a", "tier": "1"},
		},
		Config: &namespacepb.NamespaceConfig{WorkflowExecutionRetentionTtl: durationpb.New(72 * time.Hour)},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.c.WorkflowService().UpdateNamespace(e.ctx(), &workflowservice.UpdateNamespaceRequest{
		Namespace: name, UpdateInfo: &namespacepb.UpdateNamespaceInfo{Data: map[string]string{"tier": "2", "zone": "eu"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, info *namespacepb.NamespaceInfo, cfg *namespacepb.NamespaceConfig) {
		t.Helper()
		want := map[string]string{"team": "a", "tier": "2", "zone": "eu"}
		if info.Description != "second" || info.OwnerEmail != "ops@example.com" || len(info.Data) != 3 ||
			info.Data["team"] != want["team"] || info.Data["tier"] != want["tier"] || info.Data["zone"] != want["zone"] ||
			info.State != enumspb.NAMESPACE_STATE_REGISTERED || cfg.WorkflowExecutionRetentionTtl.AsDuration() != 72*time.Hour {
			t.Fatalf("%s: %v / %v", what, info, cfg)
		}
	}
	check("update response", resp.NamespaceInfo, resp.Config)
	d, err := nc.Describe(e.ctx(), name)
	if err != nil {
		t.Fatal(err)
	}
	check("describe", d.NamespaceInfo, d.Config)
	e.restart()
	nc = e.nsClient()
	if d, err = nc.Describe(e.ctx(), name); err != nil {
		t.Fatal(err)
	}
	check("describe after restart", d.NamespaceInfo, d.Config)

	svc := e.c.WorkflowService()
	upd := func(r *workflowservice.UpdateNamespaceRequest) error {
		r.Namespace = name
		_, err := svc.UpdateNamespace(e.ctx(), r)
		return err
	}
	requireInvalidArg(t, upd(&workflowservice.UpdateNamespaceRequest{Config: &namespacepb.NamespaceConfig{WorkflowExecutionRetentionTtl: durationpb.New(time.Minute)}}),
		"A valid retention period is not set on request.")
	requireInvalidArg(t, upd(&workflowservice.UpdateNamespaceRequest{Config: &namespacepb.NamespaceConfig{HistoryArchivalState: enumspb.ARCHIVAL_STATE_ENABLED}}), "archival")
	requireInvalidArg(t, upd(&workflowservice.UpdateNamespaceRequest{Config: &namespacepb.NamespaceConfig{CustomSearchAttributeAliases: map[string]string{"Keyword01": "Color"}}}), "CustomSearchAttributeAliases")
	requireInvalidArg(t, upd(&workflowservice.UpdateNamespaceRequest{PromoteNamespace: true}), "global namespace is not enabled")
	requireInvalidArg(t, upd(&workflowservice.UpdateNamespaceRequest{DeleteBadBinary: "abc"}), "Bad binary checksum abc doesn't exists.")
	// State: REGISTERED -> DEPRECATED is allowed, back is not.
	if err := upd(&workflowservice.UpdateNamespaceRequest{UpdateInfo: &namespacepb.UpdateNamespaceInfo{State: enumspb.NAMESPACE_STATE_DEPRECATED}}); err != nil {
		t.Fatal(err)
	}
	requireInvalidArg(t, upd(&workflowservice.UpdateNamespaceRequest{UpdateInfo: &namespacepb.UpdateNamespaceInfo{State: enumspb.NAMESPACE_STATE_REGISTERED}}), "Invalid namespace state update.")

	_, err = svc.UpdateNamespace(e.ctx(), &workflowservice.UpdateNamespaceRequest{Namespace: "no-such-ns", UpdateInfo: &namespacepb.UpdateNamespaceInfo{Description: "x"}})
	var nf *serviceerror.NamespaceNotFound
	if !errors.As(err, &nf) {
		t.Fatalf("update of unknown namespace: %T %v", err, err)
	}
	_, err = svc.UpdateNamespace(e.ctx(), &workflowservice.UpdateNamespaceRequest{})
	requireInvalidArg(t, err, "Namespace is not set")
}

// TestDeprecateNamespace: a deprecated namespace refuses new workflows but
// its running ones go on.
func TestDeprecateNamespace(t *testing.T) {
	e := newEnv(t)
	nc := e.nsClient()
	name := "dep-" + uuid.NewString()[:8]
	e.registerNamespace(nc, name)
	c, err := client.NewClientFromExisting(e.c, client.Options{Namespace: name})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	run, err := c.ExecuteWorkflow(e.ctx(), client.StartWorkflowOptions{ID: "dep-wf", TaskQueue: e.tq}, "Nothing")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.WorkflowService().DeprecateNamespace(e.ctx(), &workflowservice.DeprecateNamespaceRequest{Namespace: name}); err != nil {
		t.Fatal(err)
	}
	d, err := nc.Describe(e.ctx(), name)
	if err != nil || d.NamespaceInfo.State != enumspb.NAMESPACE_STATE_DEPRECATED {
		t.Fatalf("describe: %v %v", d, err)
	}
	_, err = c.ExecuteWorkflow(e.ctx(), client.StartWorkflowOptions{ID: "dep-wf-2", TaskQueue: e.tq}, "Nothing")
	var bad *serviceerror.NamespaceInvalidState
	if !errors.As(err, &bad) || bad.State != enumspb.NAMESPACE_STATE_DEPRECATED {
		t.Fatalf("start in a deprecated namespace: %T %v", err, err)
	}
	_, err = c.SignalWithStartWorkflow(e.ctx(), "dep-wf-3", "s", nil, client.StartWorkflowOptions{TaskQueue: e.tq}, "Nothing")
	if !errors.As(err, &bad) {
		t.Fatalf("signal-with-start in a deprecated namespace: %T %v", err, err)
	}
	// The running workflow can still be signaled and terminated.
	if err := c.SignalWorkflow(e.ctx(), run.GetID(), "", "s", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.TerminateWorkflow(e.ctx(), run.GetID(), "", "done"); err != nil {
		t.Fatal(err)
	}
}

// TestDeleteNamespace deletes a namespace with workflows through the
// OperatorService: it is renamed and marked DELETED at once, its workflows
// and then the renamed record disappear in the background, and the name
// can be registered again with none of the old workflows.
func TestDeleteNamespace(t *testing.T) {
	e := newEnv(t)
	nc := e.nsClient()
	op := e.c.OperatorService()
	name := "del-" + uuid.NewString()[:8]
	e.registerNamespace(nc, name)
	d, err := nc.Describe(e.ctx(), name)
	if err != nil {
		t.Fatal(err)
	}
	id := d.NamespaceInfo.Id
	c, err := client.NewClientFromExisting(e.c, client.Options{Namespace: name})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i, wid := range []string{"w1", "w2", "w3"} {
		run, err := c.ExecuteWorkflow(e.ctx(), client.StartWorkflowOptions{ID: wid, TaskQueue: e.tq}, "Nothing")
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			if err := c.TerminateWorkflow(e.ctx(), run.GetID(), "", "closed"); err != nil {
				t.Fatal(err)
			}
		}
	}

	// Refusals first.
	_, err = op.DeleteNamespace(e.ctx(), &operatorservice.DeleteNamespaceRequest{})
	requireInvalidArg(t, err, "Namespace not set on request.")
	_, err = op.DeleteNamespace(e.ctx(), &operatorservice.DeleteNamespaceRequest{Namespace: name, NamespaceId: id})
	requireInvalidArg(t, err, "Only one of namespace name or Id")
	_, err = op.DeleteNamespace(e.ctx(), &operatorservice.DeleteNamespaceRequest{Namespace: "no-such-ns"})
	var nf *serviceerror.NamespaceNotFound
	if !errors.As(err, &nf) {
		t.Fatalf("delete of unknown namespace: %T %v", err, err)
	}

	resp, err := op.DeleteNamespace(e.ctx(), &operatorservice.DeleteNamespaceRequest{Namespace: name, NamespaceDeleteDelay: durationpb.New(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	deleted := name + "-deleted-" + id[:5]
	if resp.DeletedNamespace != deleted {
		t.Fatalf("deleted namespace %q, want %q", resp.DeletedNamespace, deleted)
	}
	if _, err := nc.Describe(e.ctx(), name); !errors.As(err, &nf) {
		t.Fatalf("describe the old name: %T %v", err, err)
	}
	d, err = nc.Describe(e.ctx(), deleted)
	if err != nil || d.NamespaceInfo.State != enumspb.NAMESPACE_STATE_DELETED || d.NamespaceInfo.Id != id {
		t.Fatalf("describe the renamed namespace: %v %v", d, err)
	}
	// Workflow calls to the deleted namespace are refused.
	_, err = e.c.WorkflowService().DescribeWorkflowExecution(e.ctx(), &workflowservice.DescribeWorkflowExecutionRequest{
		Namespace: deleted, Execution: &commonpb.WorkflowExecution{WorkflowId: "w1"}})
	var bad *serviceerror.NamespaceInvalidState
	if !errors.As(err, &bad) {
		t.Fatalf("workflow call in a deleted namespace: %T %v", err, err)
	}
	listed := func(includeDeleted bool) bool {
		l, err := e.c.WorkflowService().ListNamespaces(e.ctx(), &workflowservice.ListNamespacesRequest{
			NamespaceFilter: &namespacepb.NamespaceFilter{IncludeDeleted: includeDeleted}})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range l.Namespaces {
			if n.NamespaceInfo.Name == deleted {
				return true
			}
		}
		return false
	}
	if listed(false) || !listed(true) {
		t.Fatalf("listing: without deleted %v, with deleted %v", listed(false), listed(true))
	}
	_, err = e.c.WorkflowService().UpdateNamespace(e.ctx(), &workflowservice.UpdateNamespaceRequest{
		Namespace: deleted, UpdateInfo: &namespacepb.UpdateNamespaceInfo{Description: "x"}})
	if !errors.As(err, &bad) {
		t.Fatalf("update of a deleted namespace: %T %v", err, err)
	}
	// Deleting it again answers the same name.
	again, err := op.DeleteNamespace(e.ctx(), &operatorservice.DeleteNamespaceRequest{NamespaceId: id})
	if err != nil || again.DeletedNamespace != deleted {
		t.Fatalf("second delete: %v %v", again, err)
	}

	// The name is free again: its new namespace has none of the old runs.
	e.registerNamespace(nc, name)
	for _, wid := range []string{"w1", "w2", "w3"} {
		if _, err := c.DescribeWorkflowExecution(e.ctx(), wid, ""); !errors.As(err, new(*serviceerror.NotFound)) {
			t.Fatalf("workflow %s of the deleted namespace: %v", wid, err)
		}
	}
	l, err := c.ListWorkflow(e.ctx(), &workflowservice.ListWorkflowExecutionsRequest{Namespace: name})
	if err != nil || len(l.Executions) != 0 {
		t.Fatalf("list in the new namespace: %v %v", l, err)
	}

	// The renamed record waits out the hour's delay; a restart resumes the
	// deletion without it.
	if _, err := nc.Describe(e.ctx(), deleted); err != nil {
		t.Fatalf("renamed namespace gone before its delay: %v", err)
	}
	e.restart()
	nc = e.nsClient()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := nc.Describe(e.ctx(), deleted)
		if errors.As(err, &nf) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("renamed namespace still there after restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if d, err := nc.Describe(e.ctx(), name); err != nil || d.NamespaceInfo.State != enumspb.NAMESPACE_STATE_REGISTERED {
		t.Fatalf("the new namespace after restart: %v %v", d, err)
	}
}

// TestDeleteDefaultNamespace: the default namespace can be deleted too;
// it is registered again (empty) at the next start, as on a first start.
func TestDeleteDefaultNamespace(t *testing.T) {
	e := newEnv(t)
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("doomed"), "Nothing")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.c.OperatorService().DeleteNamespace(e.ctx(), &operatorservice.DeleteNamespaceRequest{Namespace: "default"})
	if err != nil || !strings.HasPrefix(resp.DeletedNamespace, "default-deleted-") {
		t.Fatalf("delete default: %v %v", resp, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := e.nsClient().Describe(e.ctx(), resp.DeletedNamespace)
		if errors.As(err, new(*serviceerror.NamespaceNotFound)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deleted default namespace still there: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.restart()
	d, err := e.nsClient().Describe(e.ctx(), "default")
	if err != nil || d.NamespaceInfo.State != enumspb.NAMESPACE_STATE_REGISTERED {
		t.Fatalf("default after restart: %v %v", d, err)
	}
	if _, err := e.c.DescribeWorkflowExecution(e.ctx(), run.GetID(), ""); !errors.As(err, new(*serviceerror.NotFound)) {
		t.Fatalf("workflow of the deleted default namespace: %v", err)
	}
}
