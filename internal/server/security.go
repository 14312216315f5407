package server

import (
	"crypto/tls"
	"errors"
	"log/slog"

	"github.com/sundial-io/sundial/internal/auth"
)

// securitySetup is the gRPC port's TLS configuration and authorizer, each
// nil when off.
type securitySetup struct {
	tls   *tls.Config
	mtls  bool
	authz *auth.Authorizer
}

// security loads the TLS and credential files named in cfg.
func security(cfg Config, log *slog.Logger) (securitySetup, error) {
	var s securitySetup
	if cfg.TLS.Enabled() {
		t, err := auth.ServerTLS(cfg.TLS, log)
		if err != nil {
			return s, err
		}
		s.tls, s.mtls = t, cfg.TLS.ClientCAFile != ""
	}
	if (cfg.UIClientCertFile == "") != (cfg.UIClientKeyFile == "") {
		return s, errors.New("the Web UI's client certificate needs both its certificate and its key file")
	}
	if s.mtls && cfg.UIAddr != "" && cfg.UIClientCertFile == "" {
		log.Warn("mutual TLS is on but the Web UI has no client certificate: its calls to the frontend will be refused (set --ui-tls-client-cert and --ui-tls-client-key, or --headless)")
	}
	if cfg.Auth.Logger == nil {
		cfg.Auth.Logger = log
	}
	a, err := auth.New(cfg.Auth)
	if err != nil {
		return s, err
	}
	s.authz = a
	if a != nil && s.tls == nil {
		log.Warn("authorization is on without TLS: bearer tokens and API keys cross the network in clear text (set --tls-cert and --tls-key)")
	}
	return s, nil
}

// describe is the startup line's account of what protects the port.
func (s securitySetup) describe() string {
	out := "plain text (no TLS)"
	if s.mtls {
		out = "mutual TLS"
	} else if s.tls != nil {
		out = "TLS"
	}
	if s.authz == nil {
		return out + ", no authentication"
	}
	return out + ", authorization by " + s.authz.String()
}
