package main

import (
	"fmt"
	"strconv"
	"strings"
)

// memoryHeadroom is the Go memory limit beyond --cache-size (see run).
const memoryHeadroom = 128 << 20

// minMemoryLimit is the least Go memory limit whatever --cache-size is.
const minMemoryLimit = 256 << 20

// defaultCacheSize is --cache-size when not given (engine.DefaultCacheBytes).
const defaultCacheSize = 256 << 20

// sizeFlag is a byte size: a number of bytes, or a number with a unit
// (KiB, MiB, GiB, TiB, powers of 1024, or KB, MB, GB, TB, powers of 1000;
// case does not matter, a trailing B alone means bytes).
type sizeFlag struct{ v *int64 }

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40},
	{"b", 1},
}

func (f *sizeFlag) String() string {
	if f.v == nil {
		return ""
	}
	return strconv.FormatInt(*f.v, 10)
}

func (f *sizeFlag) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*f.v = n
	return nil
}

// parseSize parses a positive byte size such as "64MiB" or "1048576".
func parseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n <= 0 || n*float64(mult) > 1<<62 {
		return 0, fmt.Errorf("not a positive size (bytes, or a number with KiB, MiB, GiB, KB, MB or GB): %q", s)
	}
	b := int64(n * float64(mult))
	if b < 1 {
		b = 1
	}
	return b, nil
}
