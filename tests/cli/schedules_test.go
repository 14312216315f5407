package cli_test

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestCLISchedules runs every `temporal schedule` command against Sundial
// and checks what they print: create (cron, interval with phase, time zone,
// overlap policy, memo, notes), describe (text and JSON), list, toggle,
// trigger, backfill, update and delete, and the errors for a duplicate id,
// a bad spec and an unknown schedule.
func TestCLISchedules(t *testing.T) {
	bin := os.Getenv("SUNDIAL_TEMPORAL_CLI")
	if bin == "" {
		t.Skip("SUNDIAL_TEMPORAL_CLI is not set; `make test-cli` installs the pinned temporal CLI and runs this test")
	}
	srv := startServer(t)
	c := &cli{bin: absFromRoot(bin), addr: srv.addr, home: t.TempDir(), ok: map[string]bool{}}

	c.run(t, "schedule", "create", "--schedule-id", "cli-sched", "--cron", "0 12 * * *", "--interval", "45m/5m",
		"--time-zone", "Europe/Berlin", "--workflow-id", "cli-sched-wf", "--task-queue", "cli-sched-tq", "--type", "Nothing",
		"--overlap-policy", "AllowAll", "--schedule-memo", `team="ops"`, "--notes", "made by the CLI", "--paused")
	mustContain(t, "duplicate create", c.fail(t, "schedule", "create", "--schedule-id", "cli-sched", "--interval", "1h",
		"--workflow-id", "x", "--task-queue", "q", "--type", "Nothing"), "already")
	mustContain(t, "bad cron", c.fail(t, "schedule", "create", "--schedule-id", "cli-bad", "--cron", "61 * * * *",
		"--workflow-id", "x", "--task-queue", "q", "--type", "Nothing"), "Invalid schedule spec", "cron_string[0]", "Minute")

	desc := c.run(t, "schedule", "describe", "--schedule-id", "cli-sched")
	mustLine(t, "describe", desc, "TimeZoneName", "Europe/Berlin")
	mustLine(t, "describe", desc, "OverlapPolicy", "AllowAll")
	mustLine(t, "describe", desc, "Notes", "made", "by", "the", "CLI")
	mustLine(t, "describe", desc, "Paused", "true")
	mustContain(t, "describe spec", desc, `"hour":"12"`, `"every":"45m 0s"`, `"offset":"5m 0s"`)

	list := c.run(t, "schedule", "list")
	mustContain(t, "list", list, "cli-sched", "Nothing")

	c.run(t, "schedule", "toggle", "--schedule-id", "cli-sched", "--unpause", "--reason", "go live")
	var d struct {
		Schedule struct {
			State struct {
				Notes  string `json:"notes"`
				Paused bool   `json:"paused"`
			} `json:"state"`
		} `json:"schedule"`
		Info struct {
			ActionCount   string `json:"actionCount"`
			RecentActions []struct {
				StartWorkflowResult struct {
					WorkflowID string `json:"workflowId"`
				} `json:"startWorkflowResult"`
			} `json:"recentActions"`
			FutureActionTimes []string `json:"futureActionTimes"`
		} `json:"info"`
	}
	c.runJSON(t, &d, "schedule", "describe", "--schedule-id", "cli-sched")
	if d.Schedule.State.Paused || d.Schedule.State.Notes != "go live" || len(d.Info.FutureActionTimes) != 10 {
		t.Fatalf("after unpause: %+v", d)
	}
	c.run(t, "schedule", "toggle", "--schedule-id", "cli-sched", "--pause", "--reason", "maintenance")

	c.run(t, "schedule", "trigger", "--schedule-id", "cli-sched")
	c.run(t, "schedule", "backfill", "--schedule-id", "cli-sched", "--start-time", "2024-01-01T00:00:00Z",
		"--end-time", "2024-01-01T02:00:00Z", "--overlap-policy", "AllowAll")
	// The trigger, then 00:05, 00:50, 01:35 (every 45 minutes from epoch + 5m).
	deadline := time.Now().Add(20 * time.Second)
	for {
		c.runJSON(t, &d, "schedule", "describe", "--schedule-id", "cli-sched")
		if d.Info.ActionCount == "4" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("actions after trigger and backfill: %+v", d.Info)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !d.Schedule.State.Paused || d.Schedule.State.Notes != "maintenance" {
		t.Fatalf("after pause: %+v", d.Schedule.State)
	}
	var got []string
	for _, a := range d.Info.RecentActions {
		got = append(got, a.StartWorkflowResult.WorkflowID)
	}
	want := []string{"cli-sched-wf-2024-01-01T00:05:00Z", "cli-sched-wf-2024-01-01T00:50:00Z", "cli-sched-wf-2024-01-01T01:35:00Z"}
	if len(got) != 4 || !strings.HasPrefix(got[0], "cli-sched-wf-") || !equal(got[1:], want) {
		t.Fatalf("started workflows %v, want a trigger then %v", got, want)
	}
	mustContain(t, "backfilled workflow", c.run(t, "workflow", "describe", "--workflow-id", want[0]), "TemporalScheduledById")

	c.run(t, "schedule", "update", "--schedule-id", "cli-sched", "--interval", "10m", "--workflow-id", "cli-sched-wf2",
		"--task-queue", "cli-sched-tq", "--type", "Other")
	desc = c.run(t, "schedule", "describe", "--schedule-id", "cli-sched")
	mustContain(t, "after update", desc, `"every":"10m 0s"`, "Other")

	c.run(t, "schedule", "delete", "--schedule-id", "cli-sched")
	mustContain(t, "describe deleted", c.fail(t, "schedule", "describe", "--schedule-id", "cli-sched"), "schedule not found")
	mustContain(t, "delete unknown", c.fail(t, "schedule", "delete", "--schedule-id", "cli-sched"), "schedule not found")
}
