package gosdk

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/google/uuid"
	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sundial-io/sundial/internal/auth"
	"github.com/sundial-io/sundial/internal/forward"
	"github.com/sundial-io/sundial/internal/server"
	"github.com/sundial-io/sundial/internal/store/pgstore/pgtest"
)

// The internal port's protection on a cluster (docs/CLUSTER.md, "Security
// of the internal port"): calls between nodes carry the cluster's secret,
// and run over mutual TLS when the TLS files are set.

// issueNodeCert makes a node certificate for 127.0.0.1, usable both as a
// server's (the public and internal ports) and as a client's (calls to
// other nodes).
func (ca *testCA) issueNodeCert(t *testing.T, cn string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// internalCall calls DescribeNamespace on a node's internal port directly.
func internalCall(addr string, creds credentials.TransportCredentials, secret string) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if secret != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, forward.SecretKey, secret)
	}
	_, err = workflowservice.NewWorkflowServiceClient(conn).DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
	return err
}

// TestClusterMutualTLS runs two nodes with --tls-cert, --tls-key and
// --tls-client-ca: requests forwarded between them and the announcement
// of a namespace work; the internal port refuses a plain-text caller, a
// certificate of another CA, and a certificate of the right CA without
// the cluster's secret.
func TestClusterMutualTLS(t *testing.T) {
	ca := newTestCA(t, "cluster CA")
	dir := t.TempDir()
	pg := pgtest.Start(t, pgtest.Options{})
	tc := &testCluster{t: t, pg: pg, url: pg.NewDatabase(t), tq: "tq-" + uuid.NewString()[:8]}
	clientTLS := &tls.Config{RootCAs: ca.pool(), Certificates: []tls.Certificate{ca.clientCert(t, "sdk")}}
	for i := range 2 {
		c, k := ca.issueNodeCert(t, "node")
		files := auth.TLSFiles{CertFile: writeFile(t, dir, "cert"+string(rune('0'+i))+".pem", c),
			KeyFile: writeFile(t, dir, "key"+string(rune('0'+i))+".pem", k), ClientCAFile: writeFile(t, dir, "ca.pem", ca.pem)}
		srv, err := server.Start(server.Config{Addr: "127.0.0.1:0", Postgres: tc.url, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), TLS: files,
			Cluster: &server.ClusterConfig{NodeAddr: "127.0.0.1:0", ShardCount: 16, LeasePeriod: clusterLease}})
		if err != nil {
			t.Fatalf("start node %d: %v", i, err)
		}
		cl, err := client.Dial(client.Options{HostPort: srv.Addr(), Logger: quietLogger{}, ConnectionOptions: client.ConnectionOptions{TLS: clientTLS}})
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		nd := &clusterNode{srv: srv, c: cl}
		tc.nodes = append(tc.nodes, nd)
		t.Cleanup(nd.stop)
	}
	tc.waitBalanced()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Forwarded requests: a workflow node 1 owns, started, signaled and
	// described through node 0.
	id := tc.idOwnedBy("default", "mtls", 1)
	c0 := tc.nodes[0].c
	if _, err := c0.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "nobody"}, ClusterWorkflow, "x"); err != nil {
		t.Fatalf("start forwarded over mutual TLS: %v", err)
	}
	if err := c0.SignalWorkflow(ctx, id, "", "go", "now"); err != nil {
		t.Fatalf("signal forwarded over mutual TLS: %v", err)
	}
	if _, err := c0.DescribeWorkflowExecution(ctx, id, ""); err != nil {
		t.Fatal(err)
	}
	// An internal operation (the announcement of a namespace change).
	ns := "mtls-" + uuid.NewString()[:6]
	if _, err := c0.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{Namespace: ns, Description: "a",
		WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	ws1 := tc.nodes[1].c.WorkflowService()
	if _, err := ws1.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns}); err != nil {
		t.Fatal(err)
	}
	if _, err := c0.WorkflowService().UpdateNamespace(ctx, &workflowservice.UpdateNamespaceRequest{Namespace: ns,
		UpdateInfo: &namespacepb.UpdateNamespaceInfo{Description: "b"}}); err != nil {
		t.Fatal(err)
	}
	if d, err := ws1.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns}); err != nil || d.GetNamespaceInfo().GetDescription() != "b" {
		t.Errorf("node 1 describes %v (%v) right after the update through node 0 over mutual TLS, want description b", d.GetNamespaceInfo(), err)
	}

	// The internal port itself.
	addr := tc.nodes[1].srv.NodeAddr()
	secret := tc.nodes[1].srv.Node().Secret()
	nodeCert := func(ca *testCA) credentials.TransportCredentials {
		c, k := ca.issueNodeCert(t, "caller")
		pair, err := tls.X509KeyPair(c, k)
		if err != nil {
			t.Fatal(err)
		}
		return credentials.NewTLS(&tls.Config{RootCAs: ca.pool(), Certificates: []tls.Certificate{pair}})
	}
	if err := internalCall(addr, insecure.NewCredentials(), secret); status.Code(err) != codes.Unavailable {
		t.Errorf("plain-text call to the internal port: %v, want refused (Unavailable)", err)
	}
	other := newTestCA(t, "another CA")
	if err := internalCall(addr, credentials.NewTLS(&tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{other.clientCert(t, "x")}}), secret); status.Code(err) != codes.Unavailable {
		t.Errorf("call with a certificate of another CA: %v, want refused (Unavailable)", err)
	}
	if err := internalCall(addr, nodeCert(ca), ""); status.Code(err) != codes.Unauthenticated {
		t.Errorf("call with a node certificate but without the cluster's secret: %v, want Unauthenticated", err)
	}
	if err := internalCall(addr, nodeCert(ca), "not-the-secret"); status.Code(err) != codes.Unauthenticated {
		t.Errorf("call with a wrong secret: %v, want Unauthenticated", err)
	}
	if err := internalCall(addr, nodeCert(ca), secret); err != nil {
		t.Errorf("call with a node certificate and the secret: %v", err)
	}
	// A client cannot smuggle the secret through the public port either:
	// the forwarder does not pass it on (it sets its own).
	if _, err := c0.DescribeWorkflowExecution(metadata.AppendToOutgoingContext(ctx, forward.SecretKey, "junk"), id, ""); err != nil {
		t.Errorf("forwarded describe with a junk secret header from the client: %v", err)
	}
}

// TestClusterInternalPortNeedsSecret: without TLS, the internal port
// still refuses callers that do not send the cluster's secret (stored in
// the shared database, the same on every node).
func TestClusterInternalPortNeedsSecret(t *testing.T) {
	tc := newCluster(t, 2)
	s0, s1 := tc.nodes[0].srv.Node().Secret(), tc.nodes[1].srv.Node().Secret()
	if s0 == "" || s0 != s1 {
		t.Fatalf("node secrets %q and %q: want one non-empty secret", s0, s1)
	}
	addr := tc.nodes[1].srv.NodeAddr()
	if err := internalCall(addr, insecure.NewCredentials(), ""); status.Code(err) != codes.Unauthenticated {
		t.Errorf("call without the secret: %v, want Unauthenticated", err)
	}
	if err := internalCall(addr, insecure.NewCredentials(), s0); err != nil {
		t.Errorf("call with the secret: %v", err)
	}
	// The public port answers as before.
	if _, err := tc.nodes[1].c.WorkflowService().DescribeNamespace(context.Background(), &workflowservice.DescribeNamespaceRequest{Namespace: "default"}); err != nil {
		t.Errorf("public port: %v", err)
	}
}
