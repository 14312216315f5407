package auth

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
)

// NodeClientTLS is the TLS configuration a cluster node uses to call other
// nodes' internal ports under mutual TLS (docs/CLUSTER.md, "Security of
// the internal port"): it presents the node's own certificate (--tls-cert,
// --tls-key), which must therefore allow client authentication (extended
// key usage clientAuth, or none) and chain to the client CA, and accepts
// another node only if its certificate chains to the client CA
// (--tls-client-ca). The host name is not checked: nodes are reached by
// address, and the CA is what says a certificate is a node's. The files
// are reloaded when they change, as the server's are.
func NodeClientTLS(f TLSFiles, log *slog.Logger) (*tls.Config, error) {
	if f.CertFile == "" || f.KeyFile == "" || f.ClientCAFile == "" {
		return nil, errors.New("node-to-node TLS needs --tls-cert, --tls-key and --tls-client-ca")
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
	cas, err := newReloader([]string{f.ClientCAFile}, 0, func() (*x509.CertPool, error) {
		return loadCAPool(f.ClientCAFile)
	}, onErr)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return cert.get(), nil
		},
		// The chain is verified below against the client CA, without a
		// host name.
		InsecureSkipVerify: true, //nolint:gosec // verified in VerifyConnection
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the other node presented no certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: cas.get(), Intermediates: inter,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
			if err != nil {
				return fmt.Errorf("the other node's certificate does not chain to the client CA: %w", err)
			}
			return nil
		},
	}, nil
}
