package main

import "testing"

func TestParseSize(t *testing.T) {
	good := map[string]int64{
		"1": 1, "4096": 4096, "64MiB": 64 << 20, "1GiB": 1 << 30, "1gib": 1 << 30, "2 KiB": 2048,
		"256MB": 256e6, "1.5GiB": 3 << 29, "512k": 512 << 10, "10b": 10,
	}
	for in, want := range good {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1MiB", "lots", "12XB", "MiB"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestCacheSizeFlagAndEnv(t *testing.T) {
	noEnv := func(string) (string, bool) { return "", false }
	o, err := parseStart(nil, noEnv)
	if err != nil || o.cacheSize != 256<<20 {
		t.Fatalf("default --cache-size = %d, %v; want 256 MiB", o.cacheSize, err)
	}
	o, err = parseStart([]string{"--cache-size", "64MiB"}, noEnv)
	if err != nil || o.cacheSize != 64<<20 {
		t.Fatalf("--cache-size 64MiB = %d, %v", o.cacheSize, err)
	}
	env := func(k string) (string, bool) {
		if k == "SUNDIAL_CACHE_SIZE" {
			return "1GiB", true
		}
		return "", false
	}
	o, err = parseStart(nil, env)
	if err != nil || o.cacheSize != 1<<30 {
		t.Fatalf("SUNDIAL_CACHE_SIZE=1GiB = %d, %v", o.cacheSize, err)
	}
	if _, err := parseStart([]string{"--cache-size", "huge"}, noEnv); err == nil {
		t.Fatal("--cache-size huge accepted")
	}
}
