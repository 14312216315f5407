// Package webui serves Temporal's official Web UI next to Sundial's gRPC
// frontend, the way `temporal server start-dev` does: the UI server
// (github.com/temporalio/ui-server/v2, the same Go module Temporal ships)
// runs in-process, serves the UI's static assets, and turns the browser's
// HTTP/JSON calls into gRPC calls on Sundial's frontend. Sundial implements
// no HTTP API of its own for it; every page works exactly as far as the
// gRPC API behind it does (docs/UI.md).
package webui

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
)

// Config says where the UI listens and which frontend it talks to.
type Config struct {
	// Addr is host:port for the UI's HTTP server; port 0 picks a free one.
	Addr string
	// Frontend is the host:port of Sundial's gRPC frontend.
	Frontend string
	Logger   *slog.Logger
	// FrontendTLS says the frontend serves TLS. The UI then dials it over
	// TLS without verifying its certificate: it dials this process's own
	// listener on an address it was just handed, and the certificate may
	// not name that address (a server certificate for a public name, with
	// the frontend bound to 0.0.0.0 and reached on 127.0.0.1).
	FrontendTLS bool
	// ClientCertFile and ClientKeyFile are the client certificate the UI
	// presents when the frontend requires mutual TLS (reloaded by the UI
	// server when they change).
	ClientCertFile, ClientKeyFile string
	// HTTPS, when set, serves the UI over HTTPS with this configuration
	// (the server's certificate, reloaded when its files change); see
	// startHTTPS.
	HTTPS *tls.Config
}

// Server is a running UI server.
type Server struct {
	ui    *uiserver.Server
	addr  string // where browsers connect
	inner string // where ui-server itself listens (addr unless HTTPS)
	https *http.Server
	log   *slog.Logger
}

// startTimeout bounds how long Start waits for the UI to answer its health
// check: it is only building routes and binding a port.
const startTimeout = 10 * time.Second

// Start checks that the UI's address can be bound, starts the UI server and
// returns once it answers HTTP.
//
// The ui-server library binds its own port inside its blocking Start (and
// exits the process through its logger if that fails), so the address is
// bound here first: a port already in use is an error returned to the
// caller, not an exit. Port 0 becomes the free port the kernel chose.
func Start(cfg Config) (*Server, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	lis, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("web UI: listen on %s: %w", cfg.Addr, err)
	}
	tcp := lis.Addr().(*net.TCPAddr)
	host, _, _ := net.SplitHostPort(cfg.Addr)
	if host == "" {
		host = tcp.IP.String()
	}
	public := net.JoinHostPort(host, strconv.Itoa(tcp.Port))
	if cfg.HTTPS != nil {
		// The public port stays ours (HTTPS); ui-server gets a loopback one.
		host = "127.0.0.1"
		inner, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			lis.Close()
			return nil, fmt.Errorf("web UI: listen on loopback: %w", err)
		}
		tcp = inner.Addr().(*net.TCPAddr)
		_ = inner.Close()
	} else {
		_ = lis.Close()
	}
	port := tcp.Port

	var tlsCfg uiconfig.TLS
	if cfg.FrontendTLS {
		// A server name with host verification off makes the ui-server
		// dial with TLS but skip the certificate check (see FrontendTLS).
		tlsCfg = uiconfig.TLS{ServerName: "sundial-frontend", CertFile: cfg.ClientCertFile, KeyFile: cfg.ClientKeyFile}
	}
	ui := uiserver.NewServer(uioptions.WithConfigProvider(&uiconfig.Config{
		TLS:                 tlsCfg,
		Host:                bracketIPv6(host),
		Port:                port,
		TemporalGRPCAddress: dialable(cfg.Frontend),
		EnableUI:            true,
		// Served over plain HTTP on a local address, as the dev server does:
		// a Secure CSRF cookie would never be sent back and every write
		// action (signal, terminate, ...) would be refused.
		// Over HTTPS the cookie is Secure, as it should be.
		CORS:     uiconfig.CORS{CookieInsecure: cfg.HTTPS == nil},
		HideLogs: true,
		// No calls to GitHub for release news from a local server.
		DisableNewsFetch: true,
	}))
	inner := net.JoinHostPort(host, strconv.Itoa(port))
	s := &Server{ui: ui, addr: public, inner: inner, log: log}
	go func() {
		if err := ui.Start(); err != nil {
			log.Error("web UI stopped", "err", err)
		}
	}()
	if err := s.waitHealthy(); err != nil {
		ui.Stop()
		if cfg.HTTPS != nil {
			lis.Close()
		}
		return nil, err
	}
	if cfg.HTTPS != nil {
		s.startHTTPS(lis, cfg.HTTPS)
	}
	return s, nil
}

// startHTTPS serves the UI over HTTPS on lis by proxying to ui-server on
// its loopback port. ui-server's own TLS option reads the certificate once
// at start and its HTTP handler is not exported, so a small reverse proxy
// in front is how the UI gets the server's reloading certificate. The
// plain-HTTP loopback port is reachable only from this host.
func (s *Server) startHTTPS(lis net.Listener, cfg *tls.Config) {
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: s.inner})
	proxy.ErrorLog = slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	s.https = &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second, ErrorLog: proxy.ErrorLog}
	go func() {
		if err := s.https.Serve(tls.NewListener(lis, cfg)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("web UI HTTPS stopped", "err", err)
		}
	}()
}

// Addr is the host:port the UI listens on.
func (s *Server) Addr() string { return s.addr }

// URL is the address to open in a browser.
func (s *Server) URL() string {
	if s.https != nil {
		return "https://" + s.addr
	}
	return "http://" + s.addr
}

// Stop closes the UI's HTTP server (and its HTTPS front).
func (s *Server) Stop() {
	if s.https != nil {
		_ = s.https.Close()
	}
	s.ui.Stop()
}

// waitHealthy polls the UI's health route until it answers.
func (s *Server) waitHealthy() error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.inner+"/healthz", nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("web UI on %s did not answer within %s (last error: %v)", s.addr, startTimeout, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// dialable turns a listening address into one a client can dial: a frontend
// bound to every interface is reached on 127.0.0.1. (Go reports a listener
// on 0.0.0.0 as [::]; it is dual-stack, so IPv4 loopback reaches it, and
// works on hosts without IPv6.)
func dialable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// bracketIPv6 writes an IPv6 host the way ui-server's "host:port" join
// needs it.
func bracketIPv6(host string) string {
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		return "[" + host + "]"
	}
	return host
}
