package execution

import (
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
)

// The activity predicate language of workflow rules: fields, operators
// and the values they read, as Temporal's activity matcher.
func TestActivityRulePredicate(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	act := &Activity{Attrs: &historypb.ActivityTaskScheduledEventAttributes{ActivityId: "a-1", ActivityType: &commonpb.ActivityType{Name: "Charge"},
		TaskQueue: &taskqueuepb.TaskQueue{Name: "payments"}},
		Attempt: 3, Started: true, StartedTime: t0, AttemptScheduledTime: t0.Add(-30 * time.Second), LastAttemptCompleteTime: t0.Add(-40 * time.Second)}
	for q, want := range map[string]bool{
		`ActivityType = "Charge"`:                                               true,
		`ActivityType = 'Refund' OR ActivityId = "a-1"`:                         true,
		`ActivityId starts_with "a-" AND TaskQueue = "payments"`:                true,
		`ActivityState = "Started"`:                                             true,
		`ActivityState = "Scheduled"`:                                           false,
		`Attempts > 2 AND Attempts <= 3`:                                        true,
		`Attempts = 1`:                                                          false,
		`BackoffInterval = 10`:                                                  true,
		`StartedTime >= "2026-01-02T00:00:00Z"`:                                 true,
		`StartedTime between "2025-01-01T00:00:00Z" and "2025-12-31T00:00:00Z"`: false,
		`(ActivityType != "Charge")`:                                            false,
	} {
		p, err := ParseActivityPredicate(q)
		if err != nil {
			t.Errorf("%s: %v", q, err)
			continue
		}
		if got := p.MatchLookup(func(f string) any { return activityField(act, f) }); got != want {
			t.Errorf("%s: %v, want %v", q, got, want)
		}
	}
	for _, bad := range []string{`Colour = "red"`, `NOT ActivityType = "x"`, `ActivityType > "x"`, `ActivityType = ""`, `where ActivityType = "x"`, `Attempts = `} {
		if _, err := ParseActivityPredicate(bad); err == nil {
			t.Errorf("%s: parsed", bad)
		}
	}
	act.Paused = true
	p, _ := ParseActivityPredicate(`ActivityState = "Paused"`)
	if !p.MatchLookup(func(f string) any { return activityField(act, f) }) {
		t.Error("a paused activity is not in state Paused")
	}
}
