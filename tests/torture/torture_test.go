package torture

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// TestTortureShort builds the sundial binary and runs the crash torture
// test in its short form: 5 SIGKILLs during a mixed load of ~40 workflows,
// then a last SIGKILL, a restart and the client-side checks. The seed is
// printed; SUNDIAL_TORTURE_SEED=<seed> replays the same plans.
func TestTortureShort(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	bin := filepath.Join(t.TempDir(), "sundial")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/sundial")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	cfg := Short()
	cfg.ServerBin = bin
	if s := os.Getenv("SUNDIAL_TORTURE_SEED"); s != "" {
		seed, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Seed = seed
	}
	// SUNDIAL_TORTURE_CACHE_SIZE=4KiB runs it with a tiny workflow cache.
	cfg.CacheSize = os.Getenv("SUNDIAL_TORTURE_CACHE_SIZE")
	cfg.Logf = t.Logf
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", rep)
	if !rep.OK() {
		t.Fatalf("torture test found violations (seed %d)", cfg.Seed)
	}
	if rep.Kills != cfg.Kills {
		t.Fatalf("%d kills, want %d", rep.Kills, cfg.Kills)
	}
}
