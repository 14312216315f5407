package auth

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
)

// TLSFiles names the PEM files of the gRPC port's TLS.
type TLSFiles struct {
	CertFile string // server certificate chain
	KeyFile  string // its private key
	// ClientCAFile, when set, turns on mutual TLS: every client must
	// present a certificate that chains to one of these CAs.
	ClientCAFile string
}

// Enabled says whether TLS is configured at all.
func (f TLSFiles) Enabled() bool { return f.CertFile != "" || f.KeyFile != "" || f.ClientCAFile != "" }

// ServerTLS builds the gRPC port's TLS configuration. Each handshake reads
// the files' modification times and reloads a certificate, key or client
// CA bundle that changed, so rotating them needs no restart (a handshake
// costs far more than a stat). Only TLS 1.2 and later are accepted.
func ServerTLS(f TLSFiles, log *slog.Logger) (*tls.Config, error) {
	if f.CertFile == "" || f.KeyFile == "" {
		return nil, errors.New("TLS needs both --tls-cert and --tls-key")
	}
	onErr := func(err error) { log.Error("TLS files", "err", err) }
	cert, err := newReloader([]string{f.CertFile, f.KeyFile}, 0, func() (*tls.Certificate, error) {
		c, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("TLS certificate %s / key %s: %w", f.CertFile, f.KeyFile, err)
		}
		return &c, nil
	}, onErr)
	if err != nil {
		return nil, err
	}
	var cas *reloader[*x509.CertPool]
	if f.ClientCAFile != "" {
		cas, err = newReloader([]string{f.ClientCAFile}, 0, func() (*x509.CertPool, error) {
			return loadCAPool(f.ClientCAFile)
		}, onErr)
		if err != nil {
			return nil, err
		}
	}
	base := &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"h2"}}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			c := base.Clone()
			c.Certificates = []tls.Certificate{*cert.get()}
			if cas != nil {
				c.ClientAuth = tls.RequireAndVerifyClientCert
				c.ClientCAs = cas.get()
			}
			return c, nil
		},
	}, nil
}

// loadCAPool reads a PEM bundle of CA certificates.
func loadCAPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("client CA file %s holds no PEM certificate", path)
	}
	return pool, nil
}

// HTTPSTLS derives the TLS configuration of Sundial's HTTP ports (metrics,
// Web UI) from the gRPC port's: the same certificate, reloaded by the same
// watcher, and TLS 1.2 or later. No client certificate is asked for even
// when the gRPC port requires one: a Prometheus scraper or a browser
// rarely holds one, and these ports carry no credentials of their own.
// HTTP/2 and HTTP/1.1 are both offered.
func HTTPSTLS(grpcTLS *tls.Config) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			c, err := grpcTLS.GetConfigForClient(hello)
			if err != nil {
				return nil, err
			}
			c = c.Clone()
			c.ClientAuth, c.ClientCAs = tls.NoClientCert, nil
			c.NextProtos = []string{"h2", "http/1.1"}
			return c, nil
		},
	}
}
