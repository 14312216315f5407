package cli_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sundial-io/sundial/internal/auth"
	sundial "github.com/sundial-io/sundial/internal/server"
)

// pemPair makes a certificate (self-signed CA when parent is nil) and
// writes it and its key under dir as name.pem and name.key.
func pemPair(t *testing.T, dir, name string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, client bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sn, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: sn, Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	switch {
	case parent == nil:
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
		parent, parentKey = tmpl, key
	case client:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	default:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	write := func(file string, b *pem.Block) {
		if err := os.WriteFile(filepath.Join(dir, file), pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(name+".pem", &pem.Block{Type: "CERTIFICATE", Bytes: der})
	write(name+".key", &pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	cert, _ := x509.ParseCertificate(der)
	return cert, key
}

// TestCLISecurity drives the temporal CLI's --tls-* and --api-key flags
// against a server with mutual TLS and API keys.
func TestCLISecurity(t *testing.T) {
	bin := os.Getenv("SUNDIAL_TEMPORAL_CLI")
	if bin == "" {
		t.Skip("SUNDIAL_TEMPORAL_CLI is not set; `make test-cli` installs the pinned temporal CLI and runs this test")
	}
	dir := t.TempDir()
	ca, caKey := pemPair(t, dir, "ca", nil, nil, false)
	pemPair(t, dir, "server", ca, caKey, false)
	pemPair(t, dir, "client", ca, caKey, true)
	writer, reader := "sk-cli-writer-0123456789", "sk-cli-reader-0123456789"
	hash := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	keys := filepath.Join(dir, "keys")
	if err := os.WriteFile(keys, []byte(hash(writer)+" default:write\n"+hash(reader)+" default:read\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := func(n string) string { return filepath.Join(dir, n) }
	srv, err := sundial.Start(sundial.Config{Addr: "127.0.0.1:0", InMemory: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		TLS:  auth.TLSFiles{CertFile: p("server.pem"), KeyFile: p("server.key"), ClientCAFile: p("ca.pem")},
		Auth: auth.Options{APIKeysFile: keys}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	c := &cli{bin: absFromRoot(bin), addr: srv.Addr(), home: t.TempDir(), ok: map[string]bool{}}
	tlsFlags := []string{"--tls-ca-path", p("ca.pem"), "--tls-cert-path", p("client.pem"), "--tls-key-path", p("client.key")}
	with := func(args ...string) []string { return append(args, tlsFlags...) }

	start := func(key, id string) []string {
		return with("workflow", "start", "--type", "CLIWorkflow", "--task-queue", "cli-sec", "--workflow-id", id, "--api-key", key)
	}
	c.run(t, start(writer, "cli-sec-1")...)
	out := c.run(t, with("workflow", "list", "--api-key", reader)...)
	mustContain(t, "workflow list with a reader key", out, "cli-sec-1")

	mustContain(t, "start with a reader key", c.fail(t, start(reader, "cli-sec-2")...), "may not call StartWorkflowExecution", "default:write")
	mustContain(t, "list without a key", c.fail(t, with("workflow", "list")...), "missing credentials")
	mustContain(t, "namespace list with a writer key", c.fail(t, with("operator", "namespace", "list", "--api-key", writer)...), "temporal-system:read")
	// Without a client certificate the handshake fails.
	mustContain(t, "list without a client certificate", c.fail(t, "workflow", "list", "--api-key", writer, "--tls-ca-path", p("ca.pem")), "failed reaching server")
	// Without TLS the server is not reached at all.
	mustContain(t, "list without TLS", c.fail(t, "workflow", "list", "--api-key", writer, "--tls=false"), "failed reaching server")
}
