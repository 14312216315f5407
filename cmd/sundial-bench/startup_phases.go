package main

import (
	"bufio"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The server logs the steps of its start in one line ("startup phases",
// internal/server/phases.go). The sleepers scenario reads the last one
// after a restart, so a slow first answer can be attributed: the store's
// open (and what it replayed from the write-ahead log), the engine's
// loaders, the gRPC setup.

var phaseAttr = regexp.MustCompile(`([a-z_.]+)=(\S+)`)

// lastStartupPhases returns the fields of the last "startup phases" line in
// the server log at path (nil when there is none).
func lastStartupPhases(path string) map[string]string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var last string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		if line := sc.Text(); strings.Contains(line, "startup phases") {
			last = line
		}
	}
	if last == "" {
		return nil
	}
	out := map[string]string{}
	for _, m := range phaseAttr.FindAllStringSubmatch(last, -1) {
		out[m[1]] = strings.Trim(m[2], `"`)
	}
	return out
}

// phaseMs is a duration field of the startup phases in milliseconds, or a
// number field as is; ok is false when the field is missing or unreadable.
func phaseMs(ph map[string]string, key string) (float64, bool) {
	v, found := ph[key]
	if !found {
		return 0, false
	}
	if d, err := time.ParseDuration(v); err == nil {
		return float64(d.Microseconds()) / 1000, true
	}
	n, err := strconv.ParseFloat(v, 64)
	return n, err == nil
}
