package spec

import (
	"errors"
	"strings"
	"testing"
	"time"

	schedulepb "go.temporal.io/api/schedule/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func mustCompile(t *testing.T, s *schedulepb.ScheduleSpec) *Spec {
	t.Helper()
	c, err := Compile(s)
	if err != nil {
		t.Fatalf("Compile(%v): %v", s, err)
	}
	return c
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// nexts returns the next n nominal times after from, in RFC3339 UTC.
func nexts(t *testing.T, s *Spec, from time.Time, n int) []string {
	t.Helper()
	var out []string
	for i := 0; i < n; i++ {
		nt, ok := s.Next("", from)
		if !ok {
			break
		}
		if !nt.Actual.Equal(nt.Nominal) {
			t.Fatalf("no jitter configured but actual %v != nominal %v", nt.Actual, nt.Nominal)
		}
		out = append(out, nt.Nominal.UTC().Format(time.RFC3339))
		from = nt.Nominal
	}
	return out
}

func eq(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("%s:\n got  %v\n want %v", what, got, want)
	}
}

func TestIntervalWithPhase(t *testing.T) {
	s := mustCompile(t, &schedulepb.ScheduleSpec{Interval: []*schedulepb.IntervalSpec{{Interval: durationpb.New(time.Hour), Phase: durationpb.New(19 * time.Minute)}}})
	eq(t, "hourly at :19", nexts(t, s, ts("2024-03-01T10:19:00Z"), 3), []string{"2024-03-01T11:19:00Z", "2024-03-01T12:19:00Z", "2024-03-01T13:19:00Z"})
	// Fractions of a second before a match still get that match.
	nt, _ := s.Next("", ts("2024-03-01T11:18:59Z").Add(500*time.Millisecond))
	if got := nt.Nominal.Format(time.RFC3339); got != "2024-03-01T11:19:00Z" {
		t.Fatalf("next after 11:18:59.5 = %s", got)
	}
	// The proto's own example: 28 days with a phase of 3d5h23m.
	s = mustCompile(t, &schedulepb.ScheduleSpec{Interval: []*schedulepb.IntervalSpec{{Interval: durationpb.New(28 * 24 * time.Hour), Phase: durationpb.New(3*24*time.Hour + 5*time.Hour + 23*time.Minute)}}})
	eq(t, "28d phase", nexts(t, s, ts("2022-02-19T00:00:00Z"), 1), []string{"2022-02-20T05:23:00Z"})
}

func TestCronStrings(t *testing.T) {
	cases := []struct {
		cron, from string
		want       []string
	}{
		{"*/15 * * * *", "2024-01-01T00:07:00Z", []string{"2024-01-01T00:15:00Z", "2024-01-01T00:30:00Z", "2024-01-01T00:45:00Z"}},
		{"0 9-17/4 * * mon-fri", "2024-01-05T16:00:00Z", []string{"2024-01-05T17:00:00Z", "2024-01-08T09:00:00Z", "2024-01-08T13:00:00Z"}},
		{"@hourly", "2024-01-01T00:00:00Z", []string{"2024-01-01T01:00:00Z", "2024-01-01T02:00:00Z"}},
		{"@daily", "2024-01-01T00:00:00Z", []string{"2024-01-02T00:00:00Z"}},
		{"@weekly", "2024-01-01T00:00:00Z", []string{"2024-01-07T00:00:00Z", "2024-01-14T00:00:00Z"}},
		{"@monthly", "2024-01-15T00:00:00Z", []string{"2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"}},
		{"@yearly", "2024-01-15T00:00:00Z", []string{"2025-01-01T00:00:00Z"}},
		{"30 0 29 2 *", "2023-01-01T00:00:00Z", []string{"2024-02-29T00:30:00Z", "2028-02-29T00:30:00Z"}},
		{"0 0 1 jan,JUL * 2030-2031", "2024-01-01T00:00:00Z", []string{"2030-01-01T00:00:00Z", "2030-07-01T00:00:00Z", "2031-01-01T00:00:00Z", "2031-07-01T00:00:00Z"}},
		{"15 30 6 * * * *", "2024-01-01T00:00:00Z", []string{"2024-01-01T06:30:15Z", "2024-01-02T06:30:15Z"}},
		{"0 12 * * 7", "2024-01-01T00:00:00Z", []string{"2024-01-07T12:00:00Z"}}, // 7 is Sunday
		{"0 12 * * 5-7", "2024-01-01T00:00:00Z", []string{"2024-01-05T12:00:00Z", "2024-01-06T12:00:00Z", "2024-01-07T12:00:00Z", "2024-01-12T12:00:00Z"}},
		{"0 0 * * * # a comment", "2024-01-01T00:00:00Z", []string{"2024-01-02T00:00:00Z"}},
		{"0 0 31 2 *", "2024-01-01T00:00:00Z", nil}, // never
	}
	for _, c := range cases {
		s := mustCompile(t, &schedulepb.ScheduleSpec{CronString: []string{c.cron}})
		eq(t, c.cron, nexts(t, s, ts(c.from), len(c.want)+boolInt(c.want == nil)), c.want)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestEveryAndCanonicalForm(t *testing.T) {
	s := mustCompile(t, &schedulepb.ScheduleSpec{CronString: []string{"CRON_TZ=America/New_York 0 9 * * *"}, Interval: []*schedulepb.IntervalSpec{{Interval: durationpb.New(90 * time.Minute), Phase: durationpb.New(15 * time.Minute)}}})
	c := s.Canonical()
	if len(c.CronString) != 0 || len(c.Interval) != 1 || len(c.StructuredCalendar) != 1 || c.TimezoneName != "America/New_York" {
		t.Fatalf("canonical form = %v", c)
	}
	if c.Interval[0].Interval.AsDuration() != 90*time.Minute || c.Interval[0].Phase.AsDuration() != 15*time.Minute {
		t.Fatalf("@every interval = %v", c.Interval[0])
	}
	sc := c.StructuredCalendar[0]
	if len(sc.Hour) != 1 || sc.Hour[0].Start != 9 || len(sc.DayOfWeek) != 1 || sc.DayOfWeek[0].End != 6 || len(sc.Year) != 0 {
		t.Fatalf("structured calendar = %v", sc)
	}
	s = mustCompile(t, &schedulepb.ScheduleSpec{CronString: []string{"@every 2d"}})
	if got := s.Canonical().Interval[0].Interval.AsDuration(); got != 48*time.Hour {
		t.Fatalf("@every 2d = %v", got)
	}
	s = mustCompile(t, &schedulepb.ScheduleSpec{CronString: []string{"@every 90m/15m # comment"}})
	iv := s.Canonical().Interval[0]
	if iv.Interval.AsDuration() != 90*time.Minute || iv.Phase.AsDuration() != 15*time.Minute {
		t.Fatalf("@every 90m/15m = %v", iv)
	}
	eq(t, "@every 90m/15m", nexts(t, s, ts("2024-01-01T00:00:00Z"), 2), []string{"2024-01-01T00:15:00Z", "2024-01-01T01:45:00Z"})
}

func TestTimeZonesAndDST(t *testing.T) {
	// 9:00 New York: 14:00 UTC in winter, 13:00 UTC in summer.
	s := mustCompile(t, &schedulepb.ScheduleSpec{CronString: []string{"0 9 * * *"}, TimezoneName: "America/New_York"})
	eq(t, "across spring forward", nexts(t, s, ts("2024-03-09T00:00:00Z"), 3), []string{"2024-03-09T14:00:00Z", "2024-03-10T13:00:00Z", "2024-03-11T13:00:00Z"})
	// 2:30 does not exist on 2024-03-10 in New York: skipped.
	s = mustCompile(t, &schedulepb.ScheduleSpec{CronString: []string{"CRON_TZ=America/New_York 30 2 * * *"}})
	eq(t, "gap", nexts(t, s, ts("2024-03-09T12:00:00Z"), 2), []string{"2024-03-11T06:30:00Z", "2024-03-12T06:30:00Z"})
	// 1:30 happens twice on 2024-11-03: both fire, in order.
	s = mustCompile(t, &schedulepb.ScheduleSpec{CronString: []string{"30 1 * * *"}, TimezoneName: "America/New_York"})
	eq(t, "repeated hour", nexts(t, s, ts("2024-11-03T00:00:00Z"), 3), []string{"2024-11-03T05:30:00Z", "2024-11-03T06:30:00Z", "2024-11-04T06:30:00Z"})
	// Every 20 minutes through the repeated hour: wall times 1:00..1:40 twice.
	s = mustCompile(t, &schedulepb.ScheduleSpec{CronString: []string{"*/20 1 * * *"}, TimezoneName: "America/New_York"})
	eq(t, "repeated hour steps", nexts(t, s, ts("2024-11-03T05:10:00Z"), 5), []string{"2024-11-03T05:20:00Z", "2024-11-03T05:40:00Z", "2024-11-03T06:00:00Z", "2024-11-03T06:20:00Z", "2024-11-03T06:40:00Z"})
	// Intervals ignore time zones.
	s = mustCompile(t, &schedulepb.ScheduleSpec{Interval: []*schedulepb.IntervalSpec{{Interval: durationpb.New(24 * time.Hour)}}, TimezoneName: "Asia/Kolkata"})
	eq(t, "interval in a zone", nexts(t, s, ts("2024-01-01T12:00:00Z"), 1), []string{"2024-01-02T00:00:00Z"})
}

func TestStructuredRangesSteps(t *testing.T) {
	s := mustCompile(t, &schedulepb.ScheduleSpec{StructuredCalendar: []*schedulepb.StructuredCalendarSpec{{
		Second:     []*schedulepb.Range{{Start: 0}},
		Minute:     []*schedulepb.Range{{Start: 5, End: 50, Step: 20}},
		Hour:       []*schedulepb.Range{{Start: 3}},
		DayOfMonth: []*schedulepb.Range{{Start: 1, End: 31}},
		Month:      []*schedulepb.Range{{Start: 1, End: 12}},
		DayOfWeek:  []*schedulepb.Range{{Start: 0, End: 6}},
	}}})
	eq(t, "minutes 5,25,45 at 3h", nexts(t, s, ts("2024-01-01T00:00:00Z"), 4), []string{"2024-01-01T03:05:00Z", "2024-01-01T03:25:00Z", "2024-01-01T03:45:00Z", "2024-01-02T03:05:00Z"})
	// A field with no ranges (other than year) matches nothing.
	s = mustCompile(t, &schedulepb.ScheduleSpec{StructuredCalendar: []*schedulepb.StructuredCalendarSpec{{Hour: []*schedulepb.Range{{Start: 1}}}}})
	if _, ok := s.Next("", ts("2024-01-01T00:00:00Z")); ok {
		t.Fatal("a calendar without seconds matched")
	}
}

func TestUnionExcludeStartEnd(t *testing.T) {
	s := mustCompile(t, &schedulepb.ScheduleSpec{
		CronString: []string{"0 12 * * *"},
		Interval:   []*schedulepb.IntervalSpec{{Interval: durationpb.New(8 * time.Hour)}},
		ExcludeCalendar: []*schedulepb.CalendarSpec{{Hour: "16", DayOfWeek: "*"},
			{Hour: "*", Minute: "*", Second: "*", DayOfMonth: "2"}},
		StartTime: timestamppb.New(ts("2024-01-01T08:00:00Z")),
		EndTime:   timestamppb.New(ts("2024-01-03T12:00:00Z")),
	})
	eq(t, "union minus excludes within [start,end]", nexts(t, s, ts("2023-06-01T00:00:00Z"), 10),
		[]string{"2024-01-01T08:00:00Z", "2024-01-01T12:00:00Z", "2024-01-03T00:00:00Z", "2024-01-03T08:00:00Z", "2024-01-03T12:00:00Z"})
	if c := s.Canonical(); len(c.ExcludeCalendar) != 0 || len(c.ExcludeStructuredCalendar) != 2 { //nolint:staticcheck
		t.Fatalf("excludes not canonicalised: %v", c)
	}
	// Everything excluded: Next ends instead of spinning.
	s = mustCompile(t, &schedulepb.ScheduleSpec{
		Interval:        []*schedulepb.IntervalSpec{{Interval: durationpb.New(time.Second)}},
		ExcludeCalendar: []*schedulepb.CalendarSpec{{Second: "*", Minute: "*", Hour: "*"}},
	})
	if _, ok := s.Next("", ts("2024-01-01T00:00:00Z")); ok {
		t.Fatal("a fully excluded spec fired")
	}
}

func TestJitter(t *testing.T) {
	s := mustCompile(t, &schedulepb.ScheduleSpec{Interval: []*schedulepb.IntervalSpec{{Interval: durationpb.New(time.Minute)}}, Jitter: durationpb.New(time.Hour)})
	from := ts("2024-01-01T00:00:00Z")
	spread := map[time.Duration]bool{}
	for i := 0; i < 50; i++ {
		nt, ok := s.Next("ns-sched", from)
		if !ok {
			t.Fatal("no next")
		}
		j := nt.Actual.Sub(nt.Nominal)
		// Capped by the distance to the next nominal time (1 minute).
		if j < 0 || j >= time.Minute {
			t.Fatalf("jitter %v out of [0, 1m)", j)
		}
		again, _ := s.Next("ns-sched", from)
		if !again.Actual.Equal(nt.Actual) {
			t.Fatal("jitter is not deterministic")
		}
		spread[j] = true
		from = nt.Nominal
	}
	if len(spread) < 10 {
		t.Fatalf("jitter barely varies: %d distinct values", len(spread))
	}
	a, _ := s.Next("seed-a", from)
	b, _ := s.Next("seed-b", from)
	c, _ := s.Next("seed-c", from)
	if a.Actual.Equal(b.Actual) && b.Actual.Equal(c.Actual) {
		t.Fatal("jitter ignores the seed")
	}
}

func TestTimes(t *testing.T) {
	s := mustCompile(t, &schedulepb.ScheduleSpec{Interval: []*schedulepb.IntervalSpec{{Interval: durationpb.New(time.Minute)}}})
	got := s.Times("", ts("2024-01-01T00:00:00Z"), ts("2024-01-01T00:03:00Z"), 0)
	if len(got) != 3 || !got[2].Nominal.Equal(ts("2024-01-01T00:03:00Z")) {
		t.Fatalf("Times = %v", got)
	}
	if got := s.Times("", ts("2024-01-01T00:00:00Z"), ts("2024-02-01T00:00:00Z"), 5); len(got) != 5 {
		t.Fatalf("limited Times = %d", len(got))
	}
}

func TestTimezoneData(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/Berlin")
	_ = loc
	// An unknown zone name is refused, naming the field.
	_, err := Compile(&schedulepb.ScheduleSpec{TimezoneName: "Mars/Olympus"})
	var fe *Error
	if !errors.As(err, &fe) || fe.Field != "timezone_name" {
		t.Fatalf("unknown zone: %v", err)
	}
	// Embedded tzdata: a well-known zone loads even without a system database.
	if _, err := Compile(&schedulepb.ScheduleSpec{TimezoneName: "Pacific/Chatham"}); err != nil {
		t.Fatal(err)
	}
}

func TestInvalidSpecs(t *testing.T) {
	cases := []struct {
		spec  *schedulepb.ScheduleSpec
		field string
		msg   string
	}{
		{&schedulepb.ScheduleSpec{CronString: []string{"* * *"}}, "cron_string[0]", "5-7 fields"},
		{&schedulepb.ScheduleSpec{CronString: []string{"0 0 * * *", "61 * * * *"}}, "cron_string[1]", "Minute is not in range [0-59]"},
		{&schedulepb.ScheduleSpec{CronString: []string{"0 0 * * *", "TZ=UTC 0 0 * * *"}}, "cron_string[1]", "conflicting timezone"},
		{&schedulepb.ScheduleSpec{CronString: []string{"CRON_TZ=UTC 0 0 * * *"}, TimezoneName: "Europe/Paris"}, "cron_string", "conflicting timezone"},
		{&schedulepb.ScheduleSpec{CronString: []string{"@every"}}, "cron_string[0]", "interval after @every"},
		{&schedulepb.ScheduleSpec{CronString: []string{"0 5-2 * * *"}}, "cron_string[0]", "End is before Start"},
		{&schedulepb.ScheduleSpec{CronString: []string{"0 */0 * * *"}}, "cron_string[0]", "invalid Step"},
		{&schedulepb.ScheduleSpec{Calendar: []*schedulepb.CalendarSpec{{Month: "smarch"}}}, "calendar[0]", "Month"},
		{&schedulepb.ScheduleSpec{Interval: []*schedulepb.IntervalSpec{{Interval: durationpb.New(500 * time.Millisecond)}}}, "interval[0]", "too small"},
		{&schedulepb.ScheduleSpec{Interval: []*schedulepb.IntervalSpec{{Interval: durationpb.New(time.Minute), Phase: durationpb.New(time.Minute)}}}, "interval[0]", "phase"},
		{&schedulepb.ScheduleSpec{StructuredCalendar: []*schedulepb.StructuredCalendarSpec{{Hour: []*schedulepb.Range{{Start: 24}}}}}, "structured_calendar[0]", "Hour Start"},
		{&schedulepb.ScheduleSpec{ExcludeStructuredCalendar: []*schedulepb.StructuredCalendarSpec{{Year: []*schedulepb.Range{{Start: 1999}}}}}, "exclude_structured_calendar[0]", "Year"},
		{&schedulepb.ScheduleSpec{Jitter: durationpb.New(-time.Second)}, "jitter", "negative"},
	}
	for _, c := range cases {
		_, err := Compile(c.spec)
		var fe *Error
		if !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("Compile(%v) = %v; want field %s with %q", c.spec, err, c.field, c.msg)
		}
	}
}
