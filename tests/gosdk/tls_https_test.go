package gosdk

import (
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sundial-io/sundial/internal/auth"
	"github.com/sundial-io/sundial/internal/server"
)

// httpsGet fetches url trusting only ca; it returns the status and body.
func httpsGet(t *testing.T, url string, ca *testCA) (int, string, error) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool()}}}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// TestTLSMetricsHTTPS: with a server certificate the metrics port speaks
// HTTPS only, with the gRPC port's certificate (rotated with it), and asks
// no client certificate even when the gRPC port requires mutual TLS.
func TestTLSMetricsHTTPS(t *testing.T) {
	dir := t.TempDir()
	ca1, ca2, clientCA := newTestCA(t, "CA one"), newTestCA(t, "CA two"), newTestCA(t, "client CA")
	c, k := ca1.issue(t, "sundial", false)
	certFile, keyFile := writeFile(t, dir, "cert.pem", c), writeFile(t, dir, "key.pem", k)
	srv := startSecure(t, server.Config{MetricsAddr: "127.0.0.1:0", TLS: auth.TLSFiles{
		CertFile: certFile, KeyFile: keyFile, ClientCAFile: writeFile(t, dir, "clients.pem", clientCA.pem)}})
	url := srv.MetricsURL()
	if want := "https://" + srv.MetricsAddr() + "/metrics"; url != want {
		t.Fatalf("MetricsURL() = %q, want %q", url, want)
	}

	status, body, err := httpsGet(t, url, ca1)
	if err != nil {
		t.Fatalf("HTTPS scrape without a client certificate: %v", err)
	}
	if status != http.StatusOK || !strings.Contains(body, "# TYPE ") {
		t.Fatalf("HTTPS scrape: HTTP %d, body %.200q", status, body)
	}
	if resp, err := http.Get("http://" + srv.MetricsAddr() + "/metrics"); err == nil {
		code := resp.StatusCode
		resp.Body.Close()
		if code == http.StatusOK {
			t.Fatal("the metrics port answered a plain-HTTP scrape")
		}
	}
	if _, _, err := httpsGet(t, url, newTestCA(t, "other")); err == nil {
		t.Fatal("a scraper trusting another CA accepted the metrics certificate")
	}
	old := &tls.Config{RootCAs: ca1.pool(), MaxVersion: tls.VersionTLS11, ServerName: "127.0.0.1"}
	if conn, err := tls.Dial("tcp", srv.MetricsAddr(), old); err == nil {
		conn.Close()
		t.Fatal("TLS 1.1 handshake succeeded on the metrics port")
	}

	// Rotation reaches the metrics port as it does the gRPC port.
	time.Sleep(10 * time.Millisecond)
	c, k = ca2.issue(t, "sundial", false)
	writeFile(t, dir, "key.pem", k)
	writeFile(t, dir, "cert.pem", c)
	if status, _, err := httpsGet(t, url, ca2); err != nil || status != http.StatusOK {
		t.Fatalf("after rotation: HTTP %d, %v", status, err)
	}
	if _, _, err := httpsGet(t, url, ca1); err == nil {
		t.Fatal("after rotation the metrics port still serves the old certificate")
	}
}

// TestMetricsPlainWithoutTLS: without a certificate /metrics stays plain HTTP.
func TestMetricsPlainWithoutTLS(t *testing.T) {
	srv := startSecure(t, server.Config{MetricsAddr: "127.0.0.1:0"})
	if want := "http://" + srv.MetricsAddr() + "/metrics"; srv.MetricsURL() != want {
		t.Fatalf("MetricsURL() = %q, want %q", srv.MetricsURL(), want)
	}
	scrape(t, srv.MetricsAddr())
}

// uiGetCA is uiGet for a UI served over HTTPS by a server whose
// certificate ca issued.
func uiGetCA(t *testing.T, srv *server.Server, path string, ca *testCA) (int, string) {
	t.Helper()
	code, body, err := httpsGet(t, srv.UIURL()+path, ca)
	if err != nil {
		t.Fatal(err)
	}
	return code, body
}

// TestTLSWebUIHTTPS: with a server certificate the Web UI is served over
// HTTPS only, with the same certificate (rotated with it), no client
// certificate asked of the browser, and a Secure CSRF cookie.
func TestTLSWebUIHTTPS(t *testing.T) {
	dir := t.TempDir()
	ca1, ca2, clientCA := newTestCA(t, "CA one"), newTestCA(t, "CA two"), newTestCA(t, "client CA")
	c, k := ca1.issue(t, "sundial", false)
	uc, uk := clientCA.issue(t, "web ui", true)
	certFile, keyFile := writeFile(t, dir, "cert.pem", c), writeFile(t, dir, "key.pem", k)
	srv := startSecure(t, server.Config{UIAddr: "127.0.0.1:0",
		TLS:              auth.TLSFiles{CertFile: certFile, KeyFile: keyFile, ClientCAFile: writeFile(t, dir, "clients.pem", clientCA.pem)},
		UIClientCertFile: writeFile(t, dir, "ui.pem", uc), UIClientKeyFile: writeFile(t, dir, "ui-key.pem", uk)})
	if !strings.HasPrefix(srv.UIURL(), "https://127.0.0.1:") {
		t.Fatalf("UIURL() = %q, want https", srv.UIURL())
	}
	addr := strings.TrimPrefix(srv.UIURL(), "https://")

	cl := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca1.pool()}}}
	resp, err := cl.Get(srv.UIURL() + "/")
	if err != nil {
		t.Fatalf("HTTPS GET of the UI's index: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(strings.ToLower(string(body)), "<html") {
		t.Fatalf("UI index over HTTPS: HTTP %d, %.200q", resp.StatusCode, body)
	}
	secure := false
	for _, ck := range resp.Cookies() {
		if ck.Name == "_csrf" && ck.Secure {
			secure = true
		}
	}
	if !secure {
		t.Errorf("no Secure _csrf cookie over HTTPS: %v", resp.Header.Values("Set-Cookie"))
	}
	// The UI's API works through the HTTPS front (and the UI's own mutual
	// TLS to the frontend).
	if code, body := uiGetCA(t, srv, "/api/v1/namespaces/default", ca1); code != http.StatusOK || !strings.Contains(body, `"default"`) {
		t.Fatalf("UI describe namespace over HTTPS: %d %.300s", code, body)
	}

	if resp, err := http.Get("http://" + addr + "/"); err == nil {
		code := resp.StatusCode
		resp.Body.Close()
		if code == http.StatusOK {
			t.Fatal("the UI port answered plain HTTP")
		}
	}
	if _, _, err := httpsGet(t, srv.UIURL()+"/", newTestCA(t, "other")); err == nil {
		t.Fatal("a browser trusting another CA accepted the UI's certificate")
	}
	old := &tls.Config{RootCAs: ca1.pool(), MaxVersion: tls.VersionTLS11, ServerName: "127.0.0.1"}
	if conn, err := tls.Dial("tcp", addr, old); err == nil {
		conn.Close()
		t.Fatal("TLS 1.1 handshake succeeded on the UI port")
	}

	time.Sleep(10 * time.Millisecond)
	c, k = ca2.issue(t, "sundial", false)
	writeFile(t, dir, "key.pem", k)
	writeFile(t, dir, "cert.pem", c)
	if code, _, err := httpsGet(t, srv.UIURL()+"/", ca2); err != nil || code != http.StatusOK {
		t.Fatalf("UI after rotation: HTTP %d, %v", code, err)
	}
	if _, _, err := httpsGet(t, srv.UIURL()+"/", ca1); err == nil {
		t.Fatal("after rotation the UI still serves the old certificate")
	}
}
