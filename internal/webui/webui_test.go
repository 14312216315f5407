package webui

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestDialable(t *testing.T) {
	for in, want := range map[string]string{
		"[::]:7233":       "127.0.0.1:7233",
		"0.0.0.0:7233":    "127.0.0.1:7233",
		":7233":           "127.0.0.1:7233",
		"127.0.0.1:7233":  "127.0.0.1:7233",
		"10.1.2.3:7233":   "10.1.2.3:7233",
		"[::1]:7233":      "[::1]:7233",
		"example.org:443": "example.org:443",
	} {
		if got := dialable(in); got != want {
			t.Errorf("dialable(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestStartServesUIAndRefusesTakenPort: the UI answers on a free port (the
// frontend need not be up for the static pages), and a port already in use
// is an error naming the address, not a process exit.
func TestStartServesUIAndRefusesTakenPort(t *testing.T) {
	s, err := Start(Config{Addr: "127.0.0.1:0", Frontend: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	resp, err := http.Get(s.URL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "<html") {
		t.Fatalf("GET / = %d %.200q, want the UI's HTML", resp.StatusCode, body)
	}

	_, err = Start(Config{Addr: s.Addr(), Frontend: "127.0.0.1:1"})
	if err == nil || !strings.Contains(err.Error(), s.Addr()) {
		t.Fatalf("Start on a taken port: %v, want an error naming %s", err, s.Addr())
	}
}
