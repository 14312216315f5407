package main

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestParseStores(t *testing.T) {
	got, err := parseStores(" pebble, postgres ,")
	if err != nil || len(got) != 2 || got[0] != "pebble" || got[1] != "postgres" {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []string{"", ",", "pebble,mysql"} {
		if _, err := parseStores(bad); err == nil {
			t.Errorf("parseStores(%q) accepted", bad)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

// burn is a shell loop that uses CPU for a while, then sleeps.
const burn = `i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done; sleep 30`

// TestTreeCPUCountsChildren: the CPU of a live child counts in its
// parent's tree, and still counts once the child has exited and been
// reaped (it moves into the parent's cutime/cstime), as the postmaster's
// backends do.
func TestTreeCPUCountsChildren(t *testing.T) {
	self := os.Getpid()
	before, err := treeCPUSeconds(self)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", burn)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// Wait until the child has burnt its CPU and sleeps.
	var childCPU float64
	for deadline := time.Now().Add(20 * time.Second); ; {
		_, c, err := procTimes(cmd.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		_, c2, _ := procTimes(cmd.Process.Pid)
		if c2 == c && c >= 0.05 {
			childCPU = c
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("child did not settle (cpu %.2f s)", c2)
		}
	}
	live, err := treeCPUSeconds(self)
	if err != nil {
		t.Fatal(err)
	}
	if live-before < childCPU-0.011 {
		t.Fatalf("tree CPU grew %.2f s with a live child that used %.2f s", live-before, childCPU)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	after, err := treeCPUSeconds(self)
	if err != nil {
		t.Fatal(err)
	}
	if after-before < childCPU-0.011 {
		t.Fatalf("tree CPU grew %.2f s after the child (%.2f s) was reaped", after-before, childCPU)
	}
}
