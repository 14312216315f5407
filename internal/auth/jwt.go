package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// jwtAlgorithms are the signatures accepted: RS256 and ES256, as the
// issue asks. "none" and HMAC are refused by the parser, so a token cannot
// pick its own verification.
var jwtAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.ES256}

// clockSkew is how far exp and nbf may be off (go-jose's default leeway).
const clockSkew = jwt.DefaultLeeway

// jwtVerifier checks JWTs against the public keys of a JWKS file.
//
// A verified token is remembered for up to a minute (never past its exp),
// so a client sending the same token on every call pays for one signature
// check (tens of microseconds, more than the rest of a typical RPC) a
// minute. The memory is dropped whenever the key set is reloaded, so a
// removed key stops working at once.
type jwtVerifier struct {
	keys *reloader[*jose.JSONWebKeySet]

	mu       sync.Mutex
	cacheFor *jose.JSONWebKeySet // the key set the cache was filled under
	cache    map[string]cachedJWT
}

type cachedJWT struct {
	claims *Claims
	until  time.Time
}

const (
	jwtCacheTTL  = time.Minute
	jwtCacheSize = 4096 // distinct tokens; the cache is emptied when full
)

func (v *jwtVerifier) cached(ks *jose.JSONWebKeySet, token string, now time.Time) *Claims {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cacheFor != ks {
		v.cacheFor, v.cache = ks, nil
		return nil
	}
	if e, ok := v.cache[token]; ok && now.Before(e.until) {
		return e.claims
	}
	return nil
}

func (v *jwtVerifier) remember(ks *jose.JSONWebKeySet, token string, c *Claims, until time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cacheFor != ks {
		return
	}
	if v.cache == nil || len(v.cache) >= jwtCacheSize {
		v.cache = make(map[string]cachedJWT)
	}
	v.cache[token] = cachedJWT{claims: c, until: until}
}

// loadJWKS reads a JWKS file ({"keys": [...]}) holding at least one RSA or
// EC public key; private keys in it are used only for their public half.
func loadJWKS(path string) (*jose.JSONWebKeySet, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var ks jose.JSONWebKeySet
	if err := json.Unmarshal(b, &ks); err != nil {
		return nil, fmt.Errorf("JWKS file %s: %w", path, err)
	}
	n := 0
	for i, k := range ks.Keys {
		pub := k.Public()
		if !pub.Valid() {
			return nil, fmt.Errorf("JWKS file %s: key %d (kid %q) is not a usable public key", path, i, k.KeyID)
		}
		ks.Keys[i] = pub
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("JWKS file %s holds no key", path)
	}
	return &ks, nil
}

// jwtPermissions is the claim Temporal's default JWT claim mapper reads.
type jwtPermissions struct {
	Permissions []any `json:"permissions"`
}

// verify checks the token's signature, exp and nbf and maps its
// permissions. Errors say what is wrong without repeating the token.
func (v *jwtVerifier) verify(token string, now time.Time) (*Claims, error) {
	ks := v.keys.get()
	if c := v.cached(ks, token, now); c != nil {
		return c, nil
	}
	tok, err := jwt.ParseSigned(token, jwtAlgorithms)
	if err != nil {
		return nil, errors.New("not a JWT signed with RS256 or ES256")
	}
	if len(tok.Headers) != 1 {
		return nil, errors.New("JWT must have exactly one signature")
	}
	h := tok.Headers[0]
	candidates := ks.Keys
	if h.KeyID != "" {
		candidates = ks.Key(h.KeyID)
		if len(candidates) == 0 {
			return nil, fmt.Errorf("no key with the JWT's kid %.64q in the JWKS", h.KeyID)
		}
	}
	var std jwt.Claims
	var perms jwtPermissions
	verified := false
	for _, k := range candidates {
		if k.Algorithm != "" && k.Algorithm != h.Algorithm {
			continue
		}
		if tok.Claims(k.Key, &std, &perms) == nil {
			verified = true
			break
		}
	}
	if !verified {
		return nil, errors.New("JWT signature does not verify against the JWKS")
	}
	switch err := std.ValidateWithLeeway(jwt.Expected{Time: now}, clockSkew); {
	case errors.Is(err, jwt.ErrExpired):
		return nil, errors.New("JWT has expired (exp)")
	case errors.Is(err, jwt.ErrNotValidYet):
		return nil, errors.New("JWT is not valid yet (nbf)")
	case errors.Is(err, jwt.ErrIssuedInTheFuture):
		return nil, errors.New("JWT is issued in the future (iat)")
	case err != nil:
		return nil, fmt.Errorf("JWT claims invalid: %v", err)
	}
	c := &Claims{Subject: std.Subject}
	if c.Subject == "" {
		c.Subject = "JWT without sub"
	}
	for _, p := range perms.Permissions {
		if s, ok := p.(string); ok {
			c.addPermission(s)
		}
	}
	until := now.Add(jwtCacheTTL)
	if std.Expiry != nil && std.Expiry.Time().Before(until) {
		until = std.Expiry.Time()
	}
	v.remember(ks, token, c, until)
	return c, nil
}
