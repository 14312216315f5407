package auth

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	commandpb "go.temporal.io/api/command/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/sundial-io/sundial/internal/tasktoken"
)

// Options configures authorization; with neither file set there is none.
type Options struct {
	// JWKSFile holds the public keys JWTs are verified with (RS256/ES256).
	JWKSFile string
	// APIKeysFile holds hashed static API keys and their permissions.
	APIKeysFile string
	Logger      *slog.Logger
	// Now is the clock for exp/nbf (tests); nil is time.Now.
	Now func() time.Time
}

// Enabled says whether any credential source is configured.
func (o Options) Enabled() bool { return o.JWKSFile != "" || o.APIKeysFile != "" }

// reloadEvery bounds how often the JWKS and API key files are stat'ed:
// once a second rather than on every request.
const reloadEvery = time.Second

// Authorizer checks every request's bearer token and the permission its
// RPC needs in the request's namespace.
type Authorizer struct {
	jwt  *jwtVerifier
	keys *reloader[apiKeys]
	now  func() time.Time
	desc string
}

// New loads the credential files; it returns nil, nil when none is set.
func New(o Options) (*Authorizer, error) {
	if !o.Enabled() {
		return nil, nil
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	onErr := func(err error) { log.Error("authorization files", "err", err) }
	a := &Authorizer{now: o.Now}
	if a.now == nil {
		a.now = time.Now
	}
	var parts []string
	if o.JWKSFile != "" {
		r, err := newReloader([]string{o.JWKSFile}, reloadEvery, func() (*jose.JSONWebKeySet, error) { return loadJWKS(o.JWKSFile) }, onErr)
		if err != nil {
			return nil, err
		}
		a.jwt = &jwtVerifier{keys: r}
		parts = append(parts, "JWTs verified with "+o.JWKSFile)
	}
	if o.APIKeysFile != "" {
		r, err := newReloader([]string{o.APIKeysFile}, reloadEvery, func() (apiKeys, error) { return loadAPIKeys(o.APIKeysFile) }, onErr)
		if err != nil {
			return nil, err
		}
		a.keys = r
		parts = append(parts, "API keys from "+o.APIKeysFile)
	}
	a.desc = strings.Join(parts, " and ")
	return a, nil
}

// String describes the credential sources for the startup line.
func (a *Authorizer) String() string { return a.desc }

// Unary is the unary server interceptor.
func (a *Authorizer) Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if err := a.Authorize(ctx, info.FullMethod, req); err != nil {
			return nil, err
		}
		return h(ctx, req)
	}
}

// Stream is the stream server interceptor. The only streams served are
// the health service's Watch, which is public; any other stream would
// carry no namespace to check, so it needs system admin.
func (a *Authorizer) Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		if err := a.Authorize(ss.Context(), info.FullMethod, nil); err != nil {
			return err
		}
		return h(srv, ss)
	}
}

// namespaced is every request that names its namespace; the others are
// cluster-scoped, as in Temporal.
type namespaced interface{ GetNamespace() string }

type withTaskToken interface{ GetTaskToken() []byte }

// Authorize returns nil when the request may proceed, Unauthenticated
// when its credentials are missing or invalid, and PermissionDenied when
// they do not grant what the RPC needs.
func (a *Authorizer) Authorize(ctx context.Context, fullMethod string, req any) error {
	access := Classify(fullMethod)
	if access == AccessPublic {
		return nil
	}
	token, err := bearerToken(ctx)
	if err != nil {
		return err
	}
	claims, err := a.verify(token)
	if err != nil {
		return status.Error(codes.Unauthenticated, err.Error())
	}
	method := fullMethod[strings.LastIndexByte(fullMethod, '/')+1:]
	nsReq, scoped := req.(namespaced)
	if !scoped {
		if allows(claims.System, access, method) {
			return nil
		}
		return status.Errorf(codes.PermissionDenied, "%s may not call %s: it needs the %s:%s permission", claims.Subject, method, SystemNamespace, needed(access))
	}
	ns := nsReq.GetNamespace()
	role := claims.System | claims.Namespaces[ns]
	if !allows(role, access, method) {
		if ns == "" {
			return status.Errorf(codes.PermissionDenied, "%s may not call %s without a namespace in the request: it needs the %s:%s permission", claims.Subject, method, SystemNamespace, needed(access))
		}
		return status.Errorf(codes.PermissionDenied, "%s may not call %s in namespace %q: it needs the %s:%s permission", claims.Subject, method, ns, ns, needed(access))
	}
	// A task token names the namespace its task belongs to and the engine
	// acts on that one: it must be the namespace just authorized.
	if tt, ok := req.(withTaskToken); ok && len(tt.GetTaskToken()) > 0 {
		if t, err := tasktoken.Decode(tt.GetTaskToken()); err == nil && t.Namespace != ns {
			return status.Errorf(codes.PermissionDenied, "%s may not call %s: the task token belongs to another namespace than %q", claims.Subject, method, ns)
		}
	}
	if wt, ok := req.(*workflowservice.RespondWorkflowTaskCompletedRequest); ok {
		return crossNamespaceCommands(claims, ns, wt.GetCommands())
	}
	return nil
}

// crossNamespaceCommands checks the commands of a workflow task that act
// on a workflow of another namespace (start a child, signal, cancel): the
// caller needs write there, as it would to make the same call itself.
// Without this a worker of one namespace could act on every other.
func crossNamespaceCommands(claims *Claims, ns string, cmds []*commandpb.Command) error {
	for _, c := range cmds {
		var target, what string
		switch c.GetCommandType() {
		case enumspb.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION:
			target, what = c.GetStartChildWorkflowExecutionCommandAttributes().GetNamespace(), "start a child workflow"
		case enumspb.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION:
			target, what = c.GetSignalExternalWorkflowExecutionCommandAttributes().GetNamespace(), "signal a workflow"
		case enumspb.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION:
			target, what = c.GetRequestCancelExternalWorkflowExecutionCommandAttributes().GetNamespace(), "cancel a workflow"
		default:
			continue
		}
		if target == "" || target == ns {
			continue
		}
		if !allows(claims.System|claims.Namespaces[target], AccessWrite, "") {
			return status.Errorf(codes.PermissionDenied, "%s may not %s in namespace %q from a workflow of %q: it needs the %s:write permission", claims.Subject, what, target, ns, target)
		}
	}
	return nil
}

// bearerToken reads the one "authorization: Bearer <token>" header.
func bearerToken(ctx context.Context) (string, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get("authorization")
	switch {
	case len(vals) == 0:
		return "", status.Error(codes.Unauthenticated, `missing credentials: send the header "authorization: Bearer <token>" with a JWT or an API key`)
	case len(vals) > 1:
		return "", status.Error(codes.Unauthenticated, "more than one authorization header")
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(vals[0]), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "bearer") || token == "" {
		return "", status.Error(codes.Unauthenticated, `the authorization header is not "Bearer <token>"`)
	}
	return token, nil
}

// verify turns a token into claims: a JWT when a JWKS is configured and the
// token has a JWT's three parts, else an API key.
func (a *Authorizer) verify(token string) (*Claims, error) {
	if a.jwt != nil && strings.Count(token, ".") == 2 {
		return a.jwt.verify(token, a.now())
	}
	if a.keys != nil {
		if c, ok := a.keys.get().lookup(token); ok {
			return c, nil
		}
		if a.jwt == nil {
			return nil, fmt.Errorf("unknown API key")
		}
	}
	return nil, fmt.Errorf("the bearer token is neither a JWT nor a known API key")
}
