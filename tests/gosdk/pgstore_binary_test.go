package gosdk

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/sundial-io/sundial/internal/store/pgstore/pgtest"
)

// pgBinStart starts the sundial binary with --postgres url and waits for
// its ready line (binStart's counterpart for a PostgreSQL store).
func pgBinStart(t *testing.T, bin, url string) *binProc {
	t.Helper()
	return binRun(t, bin, "start", "--ip", "127.0.0.1", "--port", "0", "--postgres", url, "--log-level", "warn", "--headless")
}

// TestPostgresBinarySIGKILL: the binary on PostgreSQL names the database in
// its startup line, and every start and signal it acknowledged is there
// after it is killed with SIGKILL under load and started again.
func TestPostgresBinarySIGKILL(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	db := "bin_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	url, err := pg.CreateDatabase(db)
	if err != nil {
		t.Fatal(err)
	}
	bin := binBuild(t, t.TempDir())
	p := pgBinStart(t, bin, url)
	if want := fmt.Sprintf("PostgreSQL 127.0.0.1:%d/%s (synchronous_commit on)", pg.Port, db); !strings.Contains(p.out(), want) {
		t.Fatalf("startup line lacks %q:\n%s", want, p.out())
	}
	acked := ackedWritesUntilKill(t, p.client(t), "pg-acked", time.Second, func() {
		_ = p.signalAndWait(syscall.SIGKILL, 5*time.Second)
	})
	p2 := pgBinStart(t, bin, url)
	requireAckedWrites(t, p2.client(t), acked)
}

// TestPostgresRestartUnderLoad restarts PostgreSQL (fast shutdown cuts
// every connection) while workflows run: the store retries its
// transactions across the outage, and every workflow completes once with
// a well-formed history, on the same Sundial server.
func TestPostgresRestartUnderLoad(t *testing.T) {
	e, pg, _ := newPGEnv(t)
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(PgChild)
	})
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	var done []string
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	stop := make(chan struct{})
	for g := range n {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				opts := client.StartWorkflowOptions{ID: fmt.Sprintf("pg-outage-%d-%d", g, i), TaskQueue: e.tq}
				var run client.WorkflowRun
				var err error
				// Starts made while the database is down are refused or
				// time out; the client retries as a caller would.
				for ctx.Err() == nil {
					if run, err = e.c.ExecuteWorkflow(ctx, opts, PgChild, i); err == nil {
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
				if err != nil {
					t.Errorf("start %s: %v", opts.ID, err)
					return
				}
				var out int
				if err := run.Get(ctx, &out); err != nil || out != i*10 {
					t.Errorf("workflow %s: %d, %v", opts.ID, out, err)
					return
				}
				mu.Lock()
				done = append(done, opts.ID)
				mu.Unlock()
			}
		})
	}
	time.Sleep(time.Second)
	mu.Lock()
	before := len(done)
	mu.Unlock()
	if err := pg.Restart(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if before == 0 || len(done) <= before {
		t.Fatalf("%d workflows done before the restart, %d in all: no progress on one side", before, len(done))
	}
	for _, id := range done {
		evs := historyOf(t, e.c, id)
		requireWellFormed(t, evs)
		if count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED) != 1 {
			t.Fatalf("%s: %v", id, types(evs))
		}
	}
	t.Logf("%d workflows before the PostgreSQL restart, %d in all", before, len(done))
}

func historyOf(t *testing.T, c client.Client, id string) []*historypb.HistoryEvent {
	t.Helper()
	it := c.GetWorkflowHistory(binCtx(t), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var evs []*historypb.HistoryEvent
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	return evs
}
