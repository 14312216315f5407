// Package auth secures Sundial's gRPC port: TLS and mutual TLS with
// certificates reloaded on change (tls.go), and per-namespace
// authorization of bearer tokens, either JWTs checked against a JWKS file
// (jwt.go) or static API keys stored as SHA-256 hashes (apikeys.go),
// mapped to roles the way Temporal's default claim mapper and authorizer
// do (permissions.go, classify.go, interceptor.go). docs/SECURITY.md
// describes the model.
package auth

import (
	"strings"
)

// Role is a set of permissions within one namespace, or within the whole
// server for the system scope. The values are bits, ordered as Temporal
// orders them: a higher role includes the lower ones' powers except that
// worker is its own narrow grant (see allows).
type Role uint8

const (
	RoleWorker Role = 1 << iota
	RoleReader
	RoleWriter
	RoleAdmin
)

// SystemNamespace is the permission scope that applies to every namespace
// and to the cluster-scoped APIs, as in Temporal ("temporal-system:admin").
const SystemNamespace = "temporal-system"

// Claims are what a verified credential grants.
type Claims struct {
	// Subject names the caller in logs and error messages (the JWT's
	// "sub", or "api key <first 8 hex digits of its hash>").
	Subject    string
	System     Role
	Namespaces map[string]Role
}

// roleOf maps a permission's role word as Temporal's default claim
// mapper does (case-insensitive); an unknown word grants nothing.
func roleOf(word string) Role {
	switch strings.ToLower(word) {
	case "read":
		return RoleReader
	case "write":
		return RoleWriter
	case "worker":
		return RoleWorker
	case "admin":
		return RoleAdmin
	}
	return 0
}

// addPermission adds one "<namespace>:<role>" string to c. Strings without
// a colon or with an unknown role are ignored, as Temporal ignores them;
// it reports whether the string granted anything.
func (c *Claims) addPermission(p string) bool {
	ns, word, ok := strings.Cut(p, ":")
	if !ok || ns == "" {
		return false
	}
	r := roleOf(word)
	if r == 0 {
		return false
	}
	if ns == SystemNamespace {
		c.System |= r
		return true
	}
	if c.Namespaces == nil {
		c.Namespaces = map[string]Role{}
	}
	c.Namespaces[ns] |= r
	return true
}

// String names a role's strongest grant for messages.
func (r Role) String() string {
	switch {
	case r&RoleAdmin != 0:
		return "admin"
	case r&RoleWriter != 0:
		return "write"
	case r&RoleReader != 0:
		return "read"
	case r&RoleWorker != 0:
		return "worker"
	}
	return "none"
}
