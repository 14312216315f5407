package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func TestAddPermission(t *testing.T) {
	var c Claims
	for _, p := range []string{"default:read", "default:WORKER", "temporal-system:admin", "bad", ":read", "x:owner", "a:b:write"} {
		c.addPermission(p)
	}
	if c.Namespaces["default"] != RoleReader|RoleWorker {
		t.Errorf("default = %v", c.Namespaces["default"])
	}
	if c.System != RoleAdmin {
		t.Errorf("system = %v", c.System)
	}
	if _, ok := c.Namespaces["x"]; ok {
		t.Error("an unknown role word granted something")
	}
	if len(c.Namespaces) != 1 {
		t.Errorf("namespaces %v", c.Namespaces) // "a:b:write" has role "b:write": nothing
	}
}

func TestLoadAPIKeysErrors(t *testing.T) {
	dir := t.TempDir()
	h := strings.Repeat("ab", 32)
	for content, want := range map[string]string{
		"nothex default:read\n":                  "line 1: the first field must be the 64 hex digits",
		"# c\n\n" + h + "\n":                     "line 3: no permission",
		h + " default:owner\n":                   `"default:owner" is not a permission`,
		h + " default:read\n" + h + " x:write\n": "line 2: the same key hash appears twice",
	} {
		p := filepath.Join(dir, "keys")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := loadAPIKeys(p); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", content, err, want)
		}
	}
}

// testAuthorizer has one API key, "sk-test", reading namespace default,
// and a JWKS with one EC key.
const testKey = "sk-test"

func testAuthorizer(t testing.TB) *Authorizer {
	p := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(p, []byte(sha256hex(testKey)+" default:read\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.PublicKey, KeyID: "k1", Algorithm: "ES256"}}})
	jp := filepath.Join(filepath.Dir(p), "jwks.json")
	if err := os.WriteFile(jp, jwks, 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := New(Options{APIKeysFile: p, JWKSFile: jp})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAuthorizeHeader(t *testing.T) {
	a := testAuthorizer(t)
	list := workflowServicePrefix + "ListWorkflowExecutions"
	req := &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default"}
	for header, want := range map[string]codes.Code{
		"Bearer " + testKey:         codes.OK,
		"bearer   " + testKey + " ": codes.OK,
		"Basic " + testKey:          codes.Unauthenticated,
		"Bearer":                    codes.Unauthenticated,
		testKey:                     codes.Unauthenticated,
		"Bearer sk-other":           codes.Unauthenticated,
	} {
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", header))
		if got := status.Code(a.Authorize(ctx, list, req)); got != want {
			t.Errorf("%q: %v, want %v", header, got, want)
		}
	}
	two := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+testKey, "authorization", "Bearer x"))
	if got := status.Code(a.Authorize(two, list, req)); got != codes.Unauthenticated {
		t.Errorf("two headers: %v", got)
	}
	other := &workflowservice.ListWorkflowExecutionsRequest{Namespace: "other"}
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+testKey))
	if err := a.Authorize(ctx, list, other); status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "other:read") {
		t.Errorf("other namespace: %v", err)
	}
	if err := a.Authorize(ctx, workflowServicePrefix+"ListNamespaces", &workflowservice.ListNamespacesRequest{}); status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "temporal-system:read") {
		t.Errorf("cluster-scoped: %v", err)
	}
}

// FuzzAuthorizationHeader: any header value is either the known key or
// refused as Unauthenticated, never a panic, and no message repeats it.
func FuzzAuthorizationHeader(f *testing.F) {
	a := testAuthorizer(f)
	for _, s := range []string{"Bearer " + testKey, "Bearer ", "bearer a.b.c", "Bearer eyJhbGciOiJub25lIn0.e30.", "Basic x", "", " Bearer  x  y"} {
		f.Add(s)
	}
	list := workflowServicePrefix + "ListWorkflowExecutions"
	req := &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default"}
	f.Fuzz(func(t *testing.T, header string) {
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", header))
		err := a.Authorize(ctx, list, req)
		_, tok, _ := strings.Cut(strings.TrimSpace(header), " ")
		tok = strings.TrimSpace(tok)
		if err == nil {
			if tok != testKey {
				t.Fatalf("%q was accepted", header)
			}
			return
		}
		if status.Code(err) != codes.Unauthenticated {
			t.Fatalf("%q: %v", header, err)
		}
		if len(tok) >= 8 && strings.Contains(status.Convert(err).Message(), tok) {
			t.Fatalf("the message %q repeats the token %q", err, tok)
		}
	})
}

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestJWTCacheHonoursExpiry: a token verified (and remembered) is refused
// once its exp, plus the allowed clock skew, has passed.
func TestJWTCacheHonoursExpiry(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.PublicKey, KeyID: "k1", Algorithm: "ES256"}}})
	jp := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(jp, jwks, 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	a, err := New(Options{JWKSFile: jp, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k}, (&jose.SignerOptions{}).WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(jwt.Claims{Subject: "s", Expiry: jwt.NewNumericDate(now.Add(30 * time.Second))}).
		Claims(map[string]any{"permissions": []string{"default:read"}}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+tok))
	list := workflowServicePrefix + "ListWorkflowExecutions"
	req := &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default"}
	if err := a.Authorize(ctx, list, req); err != nil {
		t.Fatal(err)
	}
	if err := a.Authorize(ctx, list, req); err != nil {
		t.Fatalf("second call: %v", err)
	}
	now = now.Add(30*time.Second + clockSkew + time.Second)
	if err := a.Authorize(ctx, list, req); status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("after exp: %v", err)
	}
}
