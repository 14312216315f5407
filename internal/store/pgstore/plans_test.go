package pgstore

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/store/pgstore/pgtest"
)

// TestQueryPlans checks that the visibility questions asked on every list
// page and count are answered from indexes, not by reading every run: with
// a few thousand runs stored and statistics gathered, PostgreSQL's plans for
// the first ListRuns page and the counts name no sequential scan of the
// runs or visibility tables. (ClosedBefore and OpenRuns, run by retention
// and at startup, join runs; on a table this small the planner rightly
// prefers a hash join over a full read of it, so they are not checked.)
func TestQueryPlans(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	url := pg.NewDatabase(t)
	s := mustOpen(t, url)
	defer s.Close()
	const n = 5000
	var runs []*store.RunWrite
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		id := fmt.Sprintf("run-%05d", i)
		info := &workflowpb.WorkflowExecutionInfo{
			Execution: &commonpb.WorkflowExecution{WorkflowId: "wf-" + id, RunId: id},
			Type:      &commonpb.WorkflowType{Name: fmt.Sprint("Type", i%20)},
			TaskQueue: fmt.Sprint("queue", i%10),
			StartTime: timestamppb.New(base.Add(time.Duration(i) * time.Second)),
			Status:    enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
			CloseTime: timestamppb.New(base.Add(time.Duration(i+5) * time.Second)),
		}
		if i%50 == 0 {
			info.Status, info.CloseTime = enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, nil
		}
		runs = append(runs, &store.RunWrite{Record: &store.RunRecord{Namespace: fmt.Sprint("ns", i%2), WorkflowID: "wf-" + id, RunID: id, Info: info}})
	}
	c, err := s.Apply(&store.Batch{Runs: runs})
	if err == nil {
		err = c.Wait()
	}
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	if _, err := conn.Exec(t.Context(), "ANALYZE"); err != nil {
		t.Fatal(err)
	}
	ns := []byte("ns1")
	for name, q := range map[string]struct {
		sql  string
		args []any
	}{
		"ListRuns first page": {`SELECT v.list_key, v.summary, r.record FROM visibility v
			LEFT JOIN runs r ON v.summary IS NULL AND r.namespace = v.namespace AND r.run_id = v.run_id
			WHERE v.namespace = $1 AND v.list_key >= $2 AND v.list_key > $3 AND v.list_key < $4
			ORDER BY v.list_key` + limitPage, []any{ns, []byte{}, []byte{}, []byte{0xff, 0xff}}},
		"CountRuns by status": {`SELECT count(*) FROM visibility WHERE namespace = $1 AND status = $2`, []any{ns, int16(1)}},
		"CountRuns by type":   {`SELECT count(*) FROM visibility WHERE namespace = $1 AND status = $2 AND workflow_type = $3`, []any{ns, int16(2), []byte("Type3")}},
		"CountRuns by queue":  {`SELECT count(*) FROM visibility WHERE namespace = $1 AND status = $2 AND task_queue = $3`, []any{ns, int16(2), []byte("queue3")}},
	} {
		rows, err := conn.Query(t.Context(), "EXPLAIN "+q.sql, q.args...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		text := strings.Join(plan, "\n")
		if strings.Contains(text, "Seq Scan on visibility") || strings.Contains(text, "Seq Scan on runs") {
			t.Errorf("%s reads every row:\n%s", name, text)
		}
	}
}
