package execution

import (
	"time"

	"github.com/robfig/cron/v3"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
)

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ValidateCron reports whether a cron schedule parses (standard five
// fields, descriptors such as @hourly and @every, optional CRON_TZ=).
func ValidateCron(schedule string) error {
	_, err := cronParser.Parse(schedule)
	return err
}

// CronBackoff is the wait from now until the schedule's next time.
func CronBackoff(schedule string, now time.Time) time.Duration {
	sched, err := cronParser.Parse(schedule)
	if err != nil {
		return 0
	}
	next := sched.Next(now)
	if next.IsZero() {
		return 0
	}
	return next.Sub(now)
}

// cronNext returns the id of the next cron run (empty when the run has no
// cron schedule).
func (s *State) cronNext(newRunID NewRunID) string {
	if s.Start.GetCronSchedule() == "" {
		return ""
	}
	return newRunID()
}

// startCron starts the next run of a cron workflow, waiting for the
// schedule's next time; it carries the last result or failure.
func (s *State) startCron(now time.Time, runID string, result *commonpb.Payloads, f *failurepb.Failure) {
	attrs := s.rerunAttrs(enumspb.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE, CronBackoff(s.Start.CronSchedule, now), f)
	attrs.LastCompletionResult = result
	if result == nil {
		attrs.LastCompletionResult = s.Start.LastCompletionResult
	}
	s.newRun(now, runID, attrs)
}
