package pebblestore

import (
	"bytes"
	"slices"
	"testing"
)

func TestComponentOrderAndPrefixFreedom(t *testing.T) {
	// Byte order of single components must be preserved.
	strs := []string{"", "\x00", "\x00\x00", "\x00\x01", "\x00\xff", "\x01", "a", "a\x00", "a\x00b", "ab", "b", "\xff"}
	var keys [][]byte
	for _, s := range strs {
		keys = append(keys, appendComponent(nil, s))
	}
	if !slices.IsSortedFunc(keys, bytes.Compare) {
		t.Fatalf("encoding does not preserve order: %q", keys)
	}
	// No (a, b) pair may collide with another, and all keys of one a
	// share a's prefix and nothing else does.
	seen := map[string][2]string{}
	for _, a := range strs {
		for _, b := range strs {
			k := string(key(tableRun, a, b))
			if prev, dup := seen[k]; dup {
				t.Fatalf("key collision: %q and %q", prev, [2]string{a, b})
			}
			seen[k] = [2]string{a, b}
		}
	}
	for k, ab := range seen {
		for _, a := range strs {
			if has := bytes.HasPrefix([]byte(k), key(tableRun, a)); has != (ab[0] == a) {
				t.Fatalf("key of %q: prefix of namespace %q = %v", ab, a, has)
			}
		}
	}
}

func TestHistoryKeyOrder(t *testing.T) {
	ids := []int64{1, 2, 255, 256, 1 << 20, 1 << 40}
	for i := 1; i < len(ids); i++ {
		a, b := historyKey("ns", "run", ids[i-1]), historyKey("ns", "run", ids[i])
		if bytes.Compare(a, b) >= 0 {
			t.Fatalf("history key of %d sorts after %d", ids[i-1], ids[i])
		}
		if firstIDOf(b) != ids[i] {
			t.Fatalf("firstIDOf = %d, want %d", firstIDOf(b), ids[i])
		}
	}
}

func TestPrefixEnd(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"r/", "r0"}, {"a\xff", "b"}, {"a\xff\xff", "b"}, {"\xff", ""},
	} {
		if got := string(prefixEnd([]byte(c.in))); got != c.want {
			t.Errorf("prefixEnd(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
