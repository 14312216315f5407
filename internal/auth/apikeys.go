package auth

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
)

// apiKeys maps the SHA-256 of each API key (hex) to what it grants. The
// file holds only hashes, so reading it does not reveal a key:
//
//	# comment
//	<sha256 hex of the key> <permission> [<permission>...]
//
// e.g. `9f86d0...0a08 default:write temporal-system:read`. Generate the
// hash with `printf %s "$KEY" | sha256sum`.
type apiKeys map[string]*Claims

func loadAPIKeys(path string) (apiKeys, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	keys := apiKeys{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		h := strings.ToLower(f[0])
		if d, err := hex.DecodeString(h); err != nil || len(d) != sha256.Size {
			return nil, fmt.Errorf("API keys file %s line %d: the first field must be the 64 hex digits of the key's SHA-256", path, n)
		}
		if len(f) < 2 {
			return nil, fmt.Errorf("API keys file %s line %d: no permission after the hash", path, n)
		}
		if _, dup := keys[h]; dup {
			return nil, fmt.Errorf("API keys file %s line %d: the same key hash appears twice", path, n)
		}
		c := &Claims{Subject: "API key " + h[:8]}
		for _, p := range f[1:] {
			if !c.addPermission(p) {
				return nil, fmt.Errorf("API keys file %s line %d: %q is not a permission (<namespace>:read|write|worker|admin)", path, n, p)
			}
		}
		keys[h] = c
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return keys, nil
}

// lookup finds the key's grants by its hash.
func (k apiKeys) lookup(key string) (*Claims, bool) {
	sum := sha256.Sum256([]byte(key))
	c, ok := k[hex.EncodeToString(sum[:])]
	return c, ok
}
