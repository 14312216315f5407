package forward

import (
	"context"
	"crypto/subtle"
	"crypto/tls"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// The internal port's protection (docs/CLUSTER.md, "Security of the
// internal port"):
//
//   - every call a node makes to another node carries the cluster's
//     internal secret (cluster.Node.Secret, kept in the shared database) in
//     SecretKey; the receiving node's internal port refuses a call without
//     it (Authenticate) with Unauthenticated. Forwarded public requests
//     were authorized by the node that received them (with the caller's
//     credentials, which are passed on); the secret is what proves they
//     come from a node;
//   - with mutual TLS configured (--tls-cert, --tls-key, --tls-client-ca),
//     nodes call each other over TLS presenting their certificate, and
//     the internal port requires a client certificate of the client CA,
//     as the public port does. A node checks that the other node's
//     certificate chains to the client CA; the host name is not checked
//     (nodes are named by address, often an IP).

// SecretKey is the metadata key of the cluster's internal secret.
const SecretKey = "sundial-node-secret"

// Secure sets the secret every call to another node carries and, when not
// nil, the TLS configuration of those calls. Called once, before use.
func (f *Forwarder) Secure(secret string, clientTLS *tls.Config) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secret, f.clientTLS = secret, clientTLS
}

// dialOptions are the options of a connection to another node (f.mu held).
func (f *Forwarder) dialOptions() []grpc.DialOption {
	creds := insecure.NewCredentials()
	if f.clientTLS != nil {
		creds = credentials.NewTLS(f.clientTLS)
	}
	secret := f.secret
	return []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			if secret != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, SecretKey, secret)
			}
			return invoker(ctx, method, req, reply, cc, opts...)
		}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(128<<20), grpc.MaxCallSendMsgSize(128<<20)),
	}
}

// Authenticate is the internal port's first interceptor: calls without the
// cluster's internal secret are refused.
func (f *Forwarder) Authenticate(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	f.mu.Lock()
	secret := f.secret
	f.mu.Unlock()
	if secret != "" {
		md, _ := metadata.FromIncomingContext(ctx)
		got := md.Get(SecretKey)
		if len(got) != 1 || subtle.ConstantTimeCompare([]byte(got[0]), []byte(secret)) != 1 {
			return nil, status.Error(codes.Unauthenticated, "sundial: this is a node's internal port: only the nodes of its cluster may call it (they send the cluster's internal secret)")
		}
	}
	return h(ctx, req)
}
