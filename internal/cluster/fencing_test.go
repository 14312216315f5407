package cluster

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/store/pgstore"
	"github.com/sundial-io/sundial/internal/store/pgstore/pgtest"
)

// The fencing test runs node A in a child process (this test binary
// again, in TestFencingChild's mode) so it can be frozen with SIGSTOP the
// way a long GC pause, a swapped-out VM or a stalled host freezes a
// server: its clock and its memory say it still owns its shards.

const (
	childEnv      = "SUNDIAL_CLUSTER_FENCING_CHILD"
	childURLEnv   = "SUNDIAL_CLUSTER_FENCING_URL"
	fencingShard  = 5
	fencingRecord = "fencing-test"
)

// TestFencingChild is node A when run by TestFencingPausedOwner (it does
// nothing in a normal run). It joins the cluster, prints its epoch of
// fencingShard, then obeys lines on stdin: "write KEY VALUE" writes a
// keyed record under the fence it got at join, whatever has happened
// since, and prints "ok" or "error: ...".
func TestFencingChild(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		return // only the child process of TestFencingPausedOwner runs it
	}
	ctx := context.Background()
	url := os.Getenv(childURLEnv)
	st, err := pgstore.Open(ctx, url, pgstore.Options{})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	n, err := Join(ctx, url, Config{NodeID: "A", Address: "127.0.0.1:17901", LeasePeriod: testLease})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fence, ok := n.Fence(fencingShard)
	if !ok {
		fmt.Println("error: A does not hold shard", fencingShard)
		return
	}
	fmt.Println("ready", fence.Epoch)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) != 3 || f[0] != "write" {
			fmt.Println("error: bad command", in.Text())
			continue
		}
		fmt.Println(result(write(st, fence, f[1], f[2])))
	}
}

func write(st store.Store, f *store.Fence, key, value string) error {
	c, err := st.Apply(&store.Batch{Records: []*store.KeyedRecord{{Kind: fencingRecord, Key: key, State: []byte(value)}}, Fence: f})
	if err != nil {
		return err
	}
	return c.Wait()
}

func result(err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return "ok"
}

// TestFencingPausedOwner: node A owns shard S and writes; A is frozen
// (SIGSTOP) past its lease; node B takes S at epoch+1 and writes; A is
// thawed (SIGCONT) and writes at once with the epoch it holds: the write
// is refused with store.ErrFenced, and B's data is intact.
func TestFencingPausedOwner(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	url := pg.NewDatabase(t)

	cmd := exec.Command(os.Args[0], "-test.run=^TestFencingChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"=1", childURLEnv+"="+url)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT)
		cmd.Process.Kill()
		cmd.Wait()
	})
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func(prefixes ...string) string {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatal("node A exited")
				}
				for _, p := range prefixes {
					if strings.HasPrefix(l, p) {
						return l
					}
				}
				// go test's own output (=== RUN, PASS) is skipped
			case <-timeout:
				t.Fatalf("no %v line from node A", prefixes)
			}
		}
	}
	send := func(cmdline string) string {
		t.Helper()
		if _, err := io.WriteString(stdin, cmdline+"\n"); err != nil {
			t.Fatal(err)
		}
		return next("ok", "error:")
	}

	ready := next("ready", "error:")
	epochA, err := strconv.ParseInt(strings.TrimPrefix(ready, "ready "), 10, 64)
	if err != nil {
		t.Fatalf("node A: %s", ready)
	}
	if r := send("write a1 from-A"); r != "ok" {
		t.Fatalf("A's write under its lease: %s", r)
	}

	// Freeze A past its lease; B joins and takes shard S.
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	frozen := time.Now()
	stB, err := pgstore.Open(t.Context(), url, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer stB.Close()
	b := join(t, url, "B", testLease)
	var fenceB *store.Fence
	waitFor(t, 10*testLease, func() string {
		f, ok := b.Fence(fencingShard)
		if !ok {
			return fmt.Sprintf("B does not hold shard %d", fencingShard)
		}
		fenceB = f
		return ""
	})
	t.Logf("B took shard %d at epoch %d (A held epoch %d) %v after A froze", fencingShard, fenceB.Epoch, epochA, time.Since(frozen))
	if fenceB.Epoch != epochA+1 {
		t.Fatalf("B's epoch %d, want A's %d + 1", fenceB.Epoch, epochA)
	}
	if err := write(stB, fenceB, "a1", "from-B"); err != nil {
		t.Fatalf("B's write: %v", err)
	}
	if err := write(stB, fenceB, "b1", "from-B"); err != nil {
		t.Fatalf("B's write: %v", err)
	}

	// Thaw A and let it write at once, with the epoch it still believes in.
	if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	r := send("write a1 from-A-after-pause")
	if !strings.HasPrefix(r, "error:") || !strings.Contains(r, store.ErrFenced.Error()) ||
		!strings.Contains(r, fmt.Sprintf("epoch %d", epochA)) {
		t.Fatalf("A's write after losing its lease: %q, want the fenced error", r)
	}
	t.Logf("A after thawing: %s", r)
	if r := send("write a2 from-A-after-pause"); !strings.Contains(r, store.ErrFenced.Error()) {
		t.Fatalf("A's second write after losing its lease: %q, want the fenced error", r)
	}

	got := map[string]string{}
	if err := stB.Records(t.Context(), fencingRecord, func(r *store.KeyedRecord) error {
		got[r.Key] = string(r.State)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["a1"] != "from-B" || got["b1"] != "from-B" {
		t.Fatalf("records after A's fenced writes: %v, want a1 and b1 as B wrote them", got)
	}
}
