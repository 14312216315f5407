package gosdk

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	querypb "go.temporal.io/api/query/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/sundial-io/sundial/internal/auth"
	"github.com/sundial-io/sundial/internal/server"
)

// startSecure starts an in-memory server with cfg's security settings.
func startSecure(t *testing.T, cfg server.Config) *server.Server {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	cfg.InMemory = true
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.Start(cfg)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

func dialSDK(t *testing.T, o client.Options) (client.Client, error) {
	t.Helper()
	o.Logger = quietLogger{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, o)
	if err == nil {
		t.Cleanup(c.Close)
	}
	return c, err
}

// runHello runs HelloWorkflow on a worker of c and checks its result and
// history.
func runHello(t *testing.T, c client.Client) {
	t.Helper()
	tq := "tq-" + uuid.NewString()[:8]
	w := worker.New(c, tq, worker.Options{})
	w.RegisterWorkflow(HelloWorkflow)
	w.RegisterActivityWithOptions(Greet, activity.RegisterOptions{Name: "Greet"})
	if err := w.Start(); err != nil {
		t.Fatalf("worker start: %v", err)
	}
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "sec-" + uuid.NewString()[:8], TaskQueue: tq}, HelloWorkflow, "TLS")
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if err := run.Get(ctx, &out); err != nil {
		t.Fatal(err)
	}
	if out != "Hello, TLS!" {
		t.Fatalf("got %q", out)
	}
	it := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var got []enumspb.EventType
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev.EventType)
	}
	if len(got) != 11 || got[0] != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED || got[6] != enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED ||
		got[10] != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED {
		t.Fatalf("history %v", got)
	}
}

func TestTLSGoSDK(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, "server CA")
	c, k := ca.issue(t, "sundial", false)
	srv := startSecure(t, server.Config{TLS: auth.TLSFiles{CertFile: writeFile(t, dir, "cert.pem", c), KeyFile: writeFile(t, dir, "key.pem", k)}})
	if got := srv.Security(); got != "TLS, no authentication" {
		t.Errorf("Security() = %q", got)
	}

	cl, err := dialSDK(t, client.Options{HostPort: srv.Addr(), ConnectionOptions: client.ConnectionOptions{TLS: &tls.Config{RootCAs: ca.pool()}}})
	if err != nil {
		t.Fatalf("dial with TLS: %v", err)
	}
	runHello(t, cl)

	if _, err := dialSDK(t, client.Options{HostPort: srv.Addr()}); err == nil {
		t.Fatal("a plain-text client was served by a TLS port")
	}
	if _, err := dialSDK(t, client.Options{HostPort: srv.Addr(), ConnectionOptions: client.ConnectionOptions{TLS: &tls.Config{RootCAs: newTestCA(t, "other").pool()}}}); err == nil {
		t.Fatal("a client trusting another CA accepted the server's certificate")
	}
	// TLS 1.1 and older are refused.
	old := &tls.Config{RootCAs: ca.pool(), MaxVersion: tls.VersionTLS11, ServerName: "127.0.0.1"}
	if conn, err := tls.Dial("tcp", srv.Addr(), old); err == nil {
		conn.Close()
		t.Fatal("TLS 1.1 handshake succeeded")
	}
}

// TestTLSReload replaces the certificate files under a running server: new
// connections get the new certificate.
func TestTLSReload(t *testing.T) {
	dir := t.TempDir()
	ca1, ca2 := newTestCA(t, "CA one"), newTestCA(t, "CA two")
	c, k := ca1.issue(t, "sundial", false)
	certFile, keyFile := writeFile(t, dir, "cert.pem", c), writeFile(t, dir, "key.pem", k)
	srv := startSecure(t, server.Config{TLS: auth.TLSFiles{CertFile: certFile, KeyFile: keyFile}})
	handshake := func(ca *testCA) error {
		conn, err := tls.Dial("tcp", srv.Addr(), &tls.Config{RootCAs: ca.pool(), ServerName: "127.0.0.1"})
		if err == nil {
			conn.Close()
		}
		return err
	}
	if err := handshake(ca1); err != nil {
		t.Fatalf("first certificate: %v", err)
	}
	time.Sleep(10 * time.Millisecond) // a new modification time
	c, k = ca2.issue(t, "sundial", false)
	writeFile(t, dir, "key.pem", k)
	writeFile(t, dir, "cert.pem", c)
	if err := handshake(ca2); err != nil {
		t.Fatalf("after rotation the new certificate is not served: %v", err)
	}
	if err := handshake(ca1); err == nil {
		t.Fatal("after rotation the old certificate is still served")
	}
	cl, err := dialSDK(t, client.Options{HostPort: srv.Addr(), ConnectionOptions: client.ConnectionOptions{TLS: &tls.Config{RootCAs: ca2.pool()}}})
	if err != nil {
		t.Fatalf("SDK after rotation: %v", err)
	}
	if _, err := cl.CheckHealth(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
}

func TestMutualTLSGoSDK(t *testing.T) {
	dir := t.TempDir()
	serverCA, clientCA := newTestCA(t, "server CA"), newTestCA(t, "client CA")
	c, k := serverCA.issue(t, "sundial", false)
	caFile := writeFile(t, dir, "clients.pem", clientCA.pem)
	srv := startSecure(t, server.Config{TLS: auth.TLSFiles{
		CertFile: writeFile(t, dir, "cert.pem", c), KeyFile: writeFile(t, dir, "key.pem", k), ClientCAFile: caFile,
	}})
	if got := srv.Security(); got != "mutual TLS, no authentication" {
		t.Errorf("Security() = %q", got)
	}
	withCert := func(certs ...tls.Certificate) client.Options {
		return client.Options{HostPort: srv.Addr(), ConnectionOptions: client.ConnectionOptions{TLS: &tls.Config{RootCAs: serverCA.pool(), Certificates: certs}}}
	}
	cl, err := dialSDK(t, withCert(clientCA.clientCert(t, "worker-1")))
	if err != nil {
		t.Fatalf("dial with a client certificate: %v", err)
	}
	runHello(t, cl)

	if _, err := dialSDK(t, withCert()); err == nil {
		t.Fatal("a client without a certificate was served")
	}
	rogue := newTestCA(t, "rogue CA")
	if _, err := dialSDK(t, withCert(rogue.clientCert(t, "intruder"))); err == nil {
		t.Fatal("a client certificate from an unknown CA was accepted")
	}

	// Rotating the client CA file: the rogue CA's clients get in, the old
	// one's do not.
	time.Sleep(10 * time.Millisecond)
	writeFile(t, dir, "clients.pem", rogue.pem)
	if _, err := dialSDK(t, withCert(rogue.clientCert(t, "now trusted"))); err != nil {
		t.Fatalf("after the client CA rotation: %v", err)
	}
	if _, err := dialSDK(t, withCert(clientCA.clientCert(t, "no longer"))); err == nil {
		t.Fatal("after the client CA rotation the old CA's client was accepted")
	}
}

// authServer is a server with JWT and API key authorization.
type authServer struct {
	srv      *server.Server
	rsa, ec  signingKey
	dir      string
	apiKeys  map[string]string // name -> key
	jwksFile string
}

// startAuth starts it; tlsCA, when not nil, also serves TLS with a
// certificate from it.
func startAuth(t *testing.T, tlsCA *testCA) *authServer {
	t.Helper()
	a := &authServer{dir: t.TempDir(), rsa: newRSAKey(t, "rsa-1"), ec: newECKey(t, "ec-1"), apiKeys: map[string]string{
		"reader": "sk-read-" + uuid.NewString(), "writer": "sk-write-" + uuid.NewString(), "worker": "sk-worker-" + uuid.NewString(),
	}}
	a.jwksFile = writeFile(t, a.dir, "jwks.json", jwksJSON(t, a.rsa, a.ec))
	keys := "# test keys\n" +
		sha256Hex(a.apiKeys["reader"]) + " default:read\n" +
		sha256Hex(a.apiKeys["writer"]) + " default:write other:read\n" +
		sha256Hex(a.apiKeys["worker"]) + " default:worker\n"
	var tf auth.TLSFiles
	if tlsCA != nil {
		c, k := tlsCA.issue(t, "sundial", false)
		tf = auth.TLSFiles{CertFile: writeFile(t, a.dir, "cert.pem", c), KeyFile: writeFile(t, a.dir, "key.pem", k)}
	}
	a.srv = startSecure(t, server.Config{
		TLS:        tf,
		Namespaces: []string{"other"},
		Auth:       auth.Options{JWKSFile: a.jwksFile, APIKeysFile: writeFile(t, a.dir, "keys.txt", []byte(keys))},
	})
	return a
}

// TestAuthAPIKeyGoSDK uses API keys over TLS, as the SDK expects them.
func TestAuthAPIKeyGoSDK(t *testing.T) {
	ca := newTestCA(t, "server CA")
	a := startAuth(t, ca)
	conn := client.ConnectionOptions{TLS: &tls.Config{RootCAs: ca.pool()}}
	if !strings.Contains(a.srv.Security(), "authorization by JWTs") {
		t.Errorf("Security() = %q", a.srv.Security())
	}
	// Connecting needs no credentials (GetSystemInfo is public), as with Temporal.
	anon, err := dialSDK(t, client.Options{HostPort: a.srv.Addr(), ConnectionOptions: conn})
	if err != nil {
		t.Fatal(err)
	}
	_, err = anon.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{})
	wantCode(t, err, codes.Unauthenticated, "missing credentials")

	w, err := dialSDK(t, client.Options{HostPort: a.srv.Addr(), ConnectionOptions: conn, Credentials: client.NewAPIKeyStaticCredentials(a.apiKeys["writer"])})
	if err != nil {
		t.Fatal(err)
	}
	runHello(t, w)

	r, err := dialSDK(t, client.Options{HostPort: a.srv.Addr(), ConnectionOptions: conn, Credentials: client.NewAPIKeyStaticCredentials(a.apiKeys["reader"])})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := r.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{})
	if err != nil || len(resp.Executions) != 1 {
		t.Fatalf("reader list: %v %v", resp, err)
	}
	_, err = r.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{TaskQueue: "tq"}, HelloWorkflow, "x")
	wantCode(t, err, codes.PermissionDenied, `API key `+sha256Hex(a.apiKeys["reader"])[:8]+` may not call StartWorkflowExecution in namespace "default": it needs the default:write permission`)
	if strings.Contains(err.Error(), a.apiKeys["reader"]) {
		t.Fatal("the error echoes the API key")
	}

	// The writer of default reads "other" but no workflow of default leaks there.
	wo, err := dialSDK(t, client.Options{HostPort: a.srv.Addr(), ConnectionOptions: conn, Namespace: "other", Credentials: client.NewAPIKeyStaticCredentials(a.apiKeys["writer"])})
	if err != nil {
		t.Fatal(err)
	}
	resp, err = wo.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Namespace: "other"})
	if err != nil || len(resp.Executions) != 0 {
		t.Fatalf("other namespace list: %v %v", resp, err)
	}

	bad, err := dialSDK(t, client.Options{HostPort: a.srv.Addr(), ConnectionOptions: conn, Credentials: client.NewAPIKeyStaticCredentials("sk-not-a-key")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{})
	wantCode(t, err, codes.Unauthenticated, "neither a JWT nor a known API key")
	if strings.Contains(err.Error(), "sk-not-a-key") {
		t.Fatal("the error echoes the token")
	}
}

// TestAuthWorkerRole runs a worker whose credential has only the worker
// permission: it polls and completes tasks but may not start workflows.
func TestAuthWorkerRole(t *testing.T) {
	a := startAuth(t, nil)
	wc, err := dialSDK(t, client.Options{HostPort: a.srv.Addr(), ConnectionOptions: client.ConnectionOptions{TLSDisabled: true}, Credentials: client.NewAPIKeyStaticCredentials(a.a("worker"))})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := dialSDK(t, client.Options{HostPort: a.srv.Addr(), ConnectionOptions: client.ConnectionOptions{TLSDisabled: true}, Credentials: client.NewAPIKeyStaticCredentials(a.rsa.validToken(t, "starter", "default:write"))})
	if err != nil {
		t.Fatal(err)
	}
	tq := "tq-" + uuid.NewString()[:8]
	w := worker.New(wc, tq, worker.Options{})
	w.RegisterWorkflow(HelloWorkflow)
	w.RegisterActivityWithOptions(Greet, activity.RegisterOptions{Name: "Greet"})
	if err := w.Start(); err != nil {
		t.Fatalf("worker start with a worker permission: %v", err)
	}
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := sc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "wk-" + uuid.NewString()[:8], TaskQueue: tq}, HelloWorkflow, "worker")
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if err := run.Get(ctx, &out); err != nil || out != "Hello, worker!" {
		t.Fatalf("result %q %v", out, err)
	}
	_, err = wc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: tq}, HelloWorkflow, "x")
	wantCode(t, err, codes.PermissionDenied, "needs the default:write permission")
	_, err = wc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{})
	wantCode(t, err, codes.PermissionDenied, "needs the default:read permission")
}

func (a *authServer) a(name string) string { return a.apiKeys[name] }

func wantCode(t *testing.T, err error, code codes.Code, msgPart string) {
	t.Helper()
	if err == nil || serviceerror.ToStatus(err).Code() != code {
		t.Fatalf("got %v, want %v", err, code)
	}
	if !strings.Contains(err.Error(), msgPart) {
		t.Fatalf("error %q does not say %q", err, msgPart)
	}
}

// TestAuthRPCTable calls RPCs of every class with tokens of every kind and
// checks the code of each answer.
func TestAuthRPCTable(t *testing.T) {
	a := startAuth(t, nil)
	conn, err := grpc.NewClient(a.srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	wf := workflowservice.NewWorkflowServiceClient(conn)
	op := operatorservice.NewOperatorServiceClient(conn)

	// A workflow to read and act on, started by an admin of default.
	admin := a.ec.validToken(t, "admin", "default:admin")
	withToken := func(tok string) context.Context {
		ctx := context.Background()
		if tok != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
		}
		return ctx
	}
	wfID := "table-" + uuid.NewString()[:8]
	start := func(ctx context.Context) error {
		_, err := wf.StartWorkflowExecution(ctx, &workflowservice.StartWorkflowExecutionRequest{
			Namespace: "default", WorkflowId: wfID + "-" + uuid.NewString()[:4], WorkflowType: &commonpb.WorkflowType{Name: "NothingWorkflow"}, TaskQueue: &taskqueuepb.TaskQueue{Name: "table-tq"}, RequestId: uuid.NewString(),
		})
		return err
	}
	if err := start(withToken(admin)); err != nil {
		t.Fatal(err)
	}
	// One workflow with a known id to describe, read, query and signal.
	target := &commonpb.WorkflowExecution{WorkflowId: wfID}
	if _, err := wf.StartWorkflowExecution(withToken(admin), &workflowservice.StartWorkflowExecutionRequest{
		Namespace: "default", WorkflowId: wfID, WorkflowType: &commonpb.WorkflowType{Name: "NothingWorkflow"}, TaskQueue: &taskqueuepb.TaskQueue{Name: "table-tq"}, RequestId: uuid.NewString(),
	}); err != nil {
		t.Fatal(err)
	}

	type rpc struct {
		name string
		need string // public, read, worker, write, admin, sysread
		call func(ctx context.Context) error
	}
	short := func(ctx context.Context) (context.Context, context.CancelFunc) {
		return context.WithTimeout(ctx, 300*time.Millisecond)
	}
	rpcs := []rpc{
		{"GetSystemInfo", "public", func(ctx context.Context) error {
			_, err := wf.GetSystemInfo(ctx, &workflowservice.GetSystemInfoRequest{})
			return err
		}},
		{"DescribeNamespace", "read or worker", func(ctx context.Context) error {
			_, err := wf.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
			return err
		}},
		{"ListWorkflowExecutions", "read", func(ctx context.Context) error {
			_, err := wf.ListWorkflowExecutions(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default"})
			return err
		}},
		{"CountWorkflowExecutions", "read", func(ctx context.Context) error {
			_, err := wf.CountWorkflowExecutions(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: "default"})
			return err
		}},
		{"ListSearchAttributes", "read", func(ctx context.Context) error {
			_, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: "default"})
			return err
		}},
		{"PollActivityTaskQueue", "worker", func(ctx context.Context) error {
			ctx, cancel := short(ctx)
			defer cancel()
			_, err := wf.PollActivityTaskQueue(ctx, &workflowservice.PollActivityTaskQueueRequest{Namespace: "default", TaskQueue: &taskqueuepb.TaskQueue{Name: "empty-" + uuid.NewString()[:4]}})
			if status.Code(err) == codes.DeadlineExceeded {
				return nil // allowed, nothing to poll
			}
			return err
		}},
		{"DescribeWorkflowExecution", "read", func(ctx context.Context) error {
			_, err := wf.DescribeWorkflowExecution(ctx, &workflowservice.DescribeWorkflowExecutionRequest{Namespace: "default", Execution: target})
			return err
		}},
		{"GetWorkflowExecutionHistory", "read or worker", func(ctx context.Context) error {
			_, err := wf.GetWorkflowExecutionHistory(ctx, &workflowservice.GetWorkflowExecutionHistoryRequest{Namespace: "default", Execution: target})
			return err
		}},
		{"QueryWorkflow", "read", func(ctx context.Context) error {
			ctx, cancel := short(ctx)
			defer cancel()
			_, err := wf.QueryWorkflow(ctx, &workflowservice.QueryWorkflowRequest{Namespace: "default", Execution: target, Query: &querypb.WorkflowQuery{QueryType: "q"}})
			if status.Code(err) == codes.DeadlineExceeded {
				return nil // allowed, no worker to answer
			}
			return err
		}},
		{"StartWorkflowExecution", "write", start},
		{"SignalWorkflowExecution", "write", func(ctx context.Context) error {
			_, err := wf.SignalWorkflowExecution(ctx, &workflowservice.SignalWorkflowExecutionRequest{Namespace: "default", WorkflowExecution: target, SignalName: "s", RequestId: uuid.NewString()})
			return err
		}},
		{"RegisterNamespace", "admin", func(ctx context.Context) error {
			_, err := wf.RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{Namespace: "default"})
			if status.Code(err) == codes.AlreadyExists {
				return nil // allowed, then refused for what it asks
			}
			return err
		}},
		{"ListNamespaces", "sysread", func(ctx context.Context) error {
			_, err := wf.ListNamespaces(ctx, &workflowservice.ListNamespacesRequest{})
			return err
		}},
	}
	now := time.Now()
	other := newRSAKey(t, "rsa-1") // same kid, another key: a forged signature
	type cred struct {
		name   string
		token  string
		roles  []string // what it grants in default ("sysread": system read)
		unauth bool
	}
	creds := []cred{
		{name: "no token", unauth: true},
		{name: "garbage", token: "not-a-token", unauth: true},
		{name: "expired", token: a.rsa.token(t, "late", []string{"default:admin"}, now.Add(-2*time.Hour), now.Add(-time.Hour)), unauth: true},
		{name: "not yet valid", token: a.rsa.token(t, "early", []string{"default:admin"}, now.Add(time.Hour), now.Add(2*time.Hour)), unauth: true},
		{name: "wrong signature", token: other.validToken(t, "forger", "default:admin", "temporal-system:admin"), unauth: true},
		{name: "other namespace admin", token: a.rsa.validToken(t, "o", "other:admin")},
		{name: "JWT reader", token: a.rsa.validToken(t, "r", "default:read"), roles: []string{"read"}},
		{name: "JWT worker", token: a.ec.validToken(t, "w", "default:worker"), roles: []string{"worker"}},
		{name: "JWT writer", token: a.ec.validToken(t, "wr", "default:write"), roles: []string{"read", "worker", "write"}},
		{name: "JWT admin", token: admin, roles: []string{"read", "worker", "write", "admin"}},
		{name: "system reader", token: a.rsa.validToken(t, "sr", "temporal-system:read"), roles: []string{"read", "sysread"}},
		{name: "system admin", token: a.rsa.validToken(t, "root", "temporal-system:admin"), roles: []string{"read", "worker", "write", "admin", "sysread"}},
		{name: "API key reader", token: a.a("reader"), roles: []string{"read"}},
		{name: "API key writer", token: a.a("writer"), roles: []string{"read", "worker", "write"}},
		{name: "unknown API key", token: "sk-unknown", unauth: true},
	}
	for _, c := range creds {
		for _, r := range rpcs {
			err := r.call(withToken(c.token))
			want := codes.OK
			switch {
			case r.need == "public":
			case c.unauth:
				want = codes.Unauthenticated
			case r.need == "worker" && has(c.roles, "write"):
			case r.need == "read or worker" && (has(c.roles, "read") || has(c.roles, "worker")):
			case r.need == "read or worker":
				want = codes.PermissionDenied
			case !has(c.roles, r.need):
				want = codes.PermissionDenied
			}
			if status.Code(err) != want {
				t.Errorf("%s calling %s: got %v, want %v", c.name, r.name, err, want)
			}
			if err != nil && c.token != "" && strings.Contains(err.Error(), c.token) {
				t.Errorf("%s calling %s: the error echoes the token", c.name, r.name)
			}
		}
	}
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestAuthTaskTokenOtherNamespace: a workflow task's commands that act on
// another namespace need write there, and a worker of namespace "other"
// cannot complete a task of "default" by naming "other" with default's
// token.
func TestAuthTaskTokenOtherNamespace(t *testing.T) {
	a := startAuth(t, nil)
	conn, err := grpc.NewClient(a.srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	wf := workflowservice.NewWorkflowServiceClient(conn)
	ctxWith := func(tok string) context.Context {
		ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok), 10*time.Second)
		t.Cleanup(cancel)
		return ctx
	}
	admin := ctxWith(a.rsa.validToken(t, "admin", "default:admin"))
	if _, err := wf.StartWorkflowExecution(admin, &workflowservice.StartWorkflowExecutionRequest{
		Namespace: "default", WorkflowId: "tt-" + uuid.NewString()[:8], WorkflowType: &commonpb.WorkflowType{Name: "NothingWorkflow"}, TaskQueue: &taskqueuepb.TaskQueue{Name: "tt-tq"}, RequestId: uuid.NewString(),
	}); err != nil {
		t.Fatal(err)
	}
	task, err := wf.PollWorkflowTaskQueue(admin, &workflowservice.PollWorkflowTaskQueueRequest{Namespace: "default", TaskQueue: &taskqueuepb.TaskQueue{Name: "tt-tq"}})
	if err != nil || len(task.TaskToken) == 0 {
		t.Fatalf("poll: %v", err)
	}
	// Commands acting on another namespace need write there.
	signalOther := []*commandpb.Command{{
		CommandType: enumspb.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION,
		Attributes: &commandpb.Command_SignalExternalWorkflowExecutionCommandAttributes{SignalExternalWorkflowExecutionCommandAttributes: &commandpb.SignalExternalWorkflowExecutionCommandAttributes{
			Namespace: "other", Execution: &commonpb.WorkflowExecution{WorkflowId: "victim"}, SignalName: "s",
		}},
	}}
	_, err = wf.RespondWorkflowTaskCompleted(ctxWith(a.a("worker")), &workflowservice.RespondWorkflowTaskCompletedRequest{Namespace: "default", TaskToken: task.TaskToken, Commands: signalOther})
	wantCode(t, err, codes.PermissionDenied, `may not signal a workflow in namespace "other" from a workflow of "default": it needs the other:write permission`)
	_, err = wf.RespondWorkflowTaskCompleted(ctxWith(a.rsa.validToken(t, "both", "default:worker", "other:write")), &workflowservice.RespondWorkflowTaskCompletedRequest{Namespace: "default", TaskToken: task.TaskToken, Commands: signalOther})
	if err != nil {
		t.Fatalf("signal into a namespace the caller may write: %v", err)
	}

	intruder := ctxWith(a.ec.validToken(t, "intruder", "other:admin"))
	_, err = wf.RespondWorkflowTaskFailed(intruder, &workflowservice.RespondWorkflowTaskFailedRequest{Namespace: "other", TaskToken: task.TaskToken})
	wantCode(t, err, codes.PermissionDenied, "task token belongs to another namespace")
	_, err = wf.RespondWorkflowTaskFailed(intruder, &workflowservice.RespondWorkflowTaskFailedRequest{Namespace: "default", TaskToken: task.TaskToken})
	wantCode(t, err, codes.PermissionDenied, `namespace "default"`)
}

// TestAuthJWKSReload rotates the signing key: after the JWKS file changes,
// tokens of the new key are accepted and the old key's refused.
func TestAuthJWKSReload(t *testing.T) {
	a := startAuth(t, nil)
	next := newECKey(t, "ec-2")
	ctx := func(tok string) context.Context {
		return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
	}
	conn, err := grpc.NewClient(a.srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	wf := workflowservice.NewWorkflowServiceClient(conn)
	describe := func(tok string) error {
		_, err := wf.DescribeNamespace(ctx(tok), &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
		return err
	}
	oldTok, newTok := a.rsa.validToken(t, "old", "default:read"), next.validToken(t, "new", "default:read")
	if err := describe(oldTok); err != nil {
		t.Fatal(err)
	}
	wantCode(t, describe(newTok), codes.Unauthenticated, `no key with the JWT's kid "ec-2"`)
	writeFile(t, a.dir, "jwks.json", jwksJSON(t, next))
	deadline := time.Now().Add(5 * time.Second)
	for describe(newTok) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("the new key was not loaded: %v", describe(newTok))
		}
		time.Sleep(100 * time.Millisecond)
	}
	wantCode(t, describe(oldTok), codes.Unauthenticated, "no key with the JWT's kid")
	// A broken file keeps the last good keys.
	writeFile(t, a.dir, "jwks.json", []byte("{not json"))
	time.Sleep(1200 * time.Millisecond)
	if err := describe(newTok); err != nil {
		t.Fatalf("a broken JWKS file replaced the good one: %v", err)
	}
}

// uiGet calls the Web UI's HTTP API (which turns into gRPC calls on the
// frontend) and returns the status code and body.
func uiGet(t *testing.T, srv *server.Server, path, authorization string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.UIURL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestTLSWebUI: the in-process Web UI reaches a frontend that requires
// mutual TLS with the client certificate it is given, and fails without.
func TestTLSWebUI(t *testing.T) {
	dir := t.TempDir()
	serverCA, clientCA := newTestCA(t, "server CA"), newTestCA(t, "client CA")
	c, k := serverCA.issue(t, "sundial", false)
	uc, uk := clientCA.issue(t, "web ui", true)
	files := auth.TLSFiles{CertFile: writeFile(t, dir, "cert.pem", c), KeyFile: writeFile(t, dir, "key.pem", k), ClientCAFile: writeFile(t, dir, "ca.pem", clientCA.pem)}
	srv := startSecure(t, server.Config{TLS: files, UIAddr: "127.0.0.1:0",
		UIClientCertFile: writeFile(t, dir, "ui.pem", uc), UIClientKeyFile: writeFile(t, dir, "ui-key.pem", uk)})
	if code, body := uiGetCA(t, srv, "/api/v1/namespaces/default", serverCA); code != http.StatusOK || !strings.Contains(body, `"default"`) {
		t.Fatalf("UI describe namespace over mutual TLS: %d %.300s", code, body)
	}

	bare := startSecure(t, server.Config{TLS: files, UIAddr: "127.0.0.1:0"})
	if code, body := uiGetCA(t, bare, "/api/v1/namespaces/default", serverCA); code == http.StatusOK {
		t.Fatalf("UI without a client certificate was served: %d %.300s", code, body)
	}
}

// TestAuthWebUI: with authorization on, the UI's API calls carry the
// browser's (or a proxy's) Authorization header to the frontend and are
// checked like any other call; without one they are refused.
func TestAuthWebUI(t *testing.T) {
	dir := t.TempDir()
	key := "sk-ui-" + uuid.NewString()
	srv := startSecure(t, server.Config{UIAddr: "127.0.0.1:0", Namespaces: []string{"other"},
		Auth: auth.Options{APIKeysFile: writeFile(t, dir, "keys", []byte(sha256Hex(key)+" default:read\n"))}})
	if code, body := uiGet(t, srv, "/api/v1/namespaces/default/workflows", ""); code != http.StatusUnauthorized {
		t.Fatalf("UI list without credentials: %d %.300s", code, body)
	}
	if code, body := uiGet(t, srv, "/api/v1/namespaces/default/workflows", "Bearer "+key); code != http.StatusOK {
		t.Fatalf("UI list with a reader key: %d %.300s", code, body)
	}
	if code, body := uiGet(t, srv, "/api/v1/namespaces/other/workflows", "Bearer "+key); code != http.StatusForbidden {
		t.Fatalf("UI list of another namespace: %d %.300s", code, body)
	}
}
