package frontend

import "testing"

func TestScheduleIDAsWorkflowID(t *testing.T) {
	cases := map[string]string{
		"ScheduleId = 'a'":                                             "WorkflowId = 'a'",
		"ScheduleId STARTS_WITH 'ScheduleId'":                          "WorkflowId STARTS_WITH 'ScheduleId'",
		"`ScheduleId` = 'x' or MyScheduleId = 'y'":                     "`WorkflowId` = 'x' or MyScheduleId = 'y'",
		"TemporalSchedulePaused = true AND ScheduleId IN (\"a\", 'b')": "TemporalSchedulePaused = true AND WorkflowId IN (\"a\", 'b')",
		"ScheduleIdX = 1":                                              "ScheduleIdX = 1",
	}
	for in, want := range cases {
		if got := scheduleIDAsWorkflowID(in); got != want {
			t.Errorf("%q -> %q, want %q", in, got, want)
		}
	}
}
