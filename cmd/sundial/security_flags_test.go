package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseStartSecurityFlags(t *testing.T) {
	none := func(string) (string, bool) { return "", false }
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--tls-cert", "c.pem"}, "--tls-cert and --tls-key go together"},
		{[]string{"--tls-key", "k.pem"}, "--tls-cert and --tls-key go together"},
		{[]string{"--tls-client-ca", "ca.pem"}, "--tls-client-ca needs --tls-cert and --tls-key"},
		{[]string{"--ui-tls-client-cert", "u.pem"}, "--ui-tls-client-cert and --ui-tls-client-key go together"},
	} {
		if _, err := parseStart(c.args, none); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
	env := map[string]string{"SUNDIAL_TLS_CERT": "c.pem", "SUNDIAL_TLS_KEY": "k.pem", "SUNDIAL_AUTH_JWKS": "j.json", "SUNDIAL_AUTH_API_KEYS": "keys"}
	o, err := parseStart(nil, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if o.tlsCert != "c.pem" || o.tlsKey != "k.pem" || o.authJWKS != "j.json" || o.authAPIKeys != "keys" {
		t.Errorf("from the environment: %+v", o)
	}
}

// TestStartupLineSaysSecurity: the ready line says what protects the port,
// "no authentication" when nothing does, and a bad credential file fails
// the start.
func TestStartupLineSaysSecurity(t *testing.T) {
	p := startBin(t, nil, "--port", "0", "--memory", "--headless")
	if !strings.Contains(p.stdout.String(), "plain text (no TLS), no authentication") {
		t.Errorf("ready line without security flags: %s", p.stdout)
	}
	keys := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(keys, []byte(strings.Repeat("0", 64)+" default:read\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p = startBin(t, nil, "--port", "0", "--memory", "--headless", "--auth-api-keys", keys)
	if !strings.Contains(p.stdout.String(), "plain text (no TLS), authorization by API keys from "+keys) {
		t.Errorf("ready line with API keys: %s", p.stdout)
	}
	if err := os.WriteFile(keys, []byte("not-a-hash default:read\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runBin(t, nil, "start", "--port", "0", "--memory", "--headless", "--auth-api-keys", keys)
	if r.code != 1 || !strings.Contains(r.stderr, "line 1: the first field must be the 64 hex digits") {
		t.Errorf("bad key file: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestBadTLSFileFailsBeforeTouchingDisk: a missing certificate fails the
// start and leaves no data dir behind.
func TestBadTLSFileFailsBeforeTouchingDisk(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	r := runBin(t, nil, "start", "--port", "0", "--headless", "--data-dir", dir, "--tls-cert", "/nonexistent/c.pem", "--tls-key", "/nonexistent/k.pem")
	if r.code != 1 || !strings.Contains(r.stderr, "/nonexistent/c.pem") {
		t.Errorf("missing certificate: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("data dir created: %v", err)
	}
}
