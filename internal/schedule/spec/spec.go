// Package spec computes the times a schedule fires: the pure part of
// Temporal's schedules. Compile checks a ScheduleSpec and turns its cron
// strings and string calendars into the structured form Temporal reports
// back; Next returns the first time after an instant, with jitter.
//
// Semantics follow Temporal's: a spec matches the union of its calendars
// and intervals minus its exclude calendars, clipped to [start, end].
// Intervals count from the Unix epoch plus the phase; calendars match the
// wall clock of the spec's time zone literally (a wall time skipped by a
// DST change never matches; one that occurs twice matches twice).
package spec

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"strings"
	"time"
	_ "time/tzdata" // the tz database is in the binary: a host without one still knows every zone

	schedulepb "go.temporal.io/api/schedule/v1"
	"google.golang.org/protobuf/proto"
)

// Spec is a compiled ScheduleSpec.
type Spec struct {
	canonical  *schedulepb.ScheduleSpec
	loc        *time.Location
	calendars  []*calendar
	excludes   []*calendar
	intervals  []interval
	start, end time.Time // zero when unset
	jitter     time.Duration
}

type interval struct{ every, phase int64 } // seconds

// Error is a spec that cannot be compiled; Field names the offending
// field of the ScheduleSpec message.
type Error struct {
	Field string
	Err   error
}

func (e *Error) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func fieldErr(field string, i int, err error) error {
	if i >= 0 {
		field = fmt.Sprintf("%s[%d]", field, i)
	}
	return &Error{Field: field, Err: err}
}

// Compile checks in and compiles it. The input is not modified.
func Compile(in *schedulepb.ScheduleSpec) (*Spec, error) {
	if in == nil {
		in = &schedulepb.ScheduleSpec{}
	}
	c := proto.Clone(in).(*schedulepb.ScheduleSpec)
	for i, cal := range c.Calendar {
		s, err := parseCalendar(cal)
		if err != nil {
			return nil, fieldErr("calendar", i, err)
		}
		c.StructuredCalendar = append(c.StructuredCalendar, s)
	}
	c.Calendar = nil
	for i, cal := range c.ExcludeCalendar { //nolint:staticcheck // deprecated but still accepted
		s, err := parseCalendar(cal)
		if err != nil {
			return nil, fieldErr("exclude_calendar", i, err)
		}
		c.ExcludeStructuredCalendar = append(c.ExcludeStructuredCalendar, s)
	}
	c.ExcludeCalendar = nil //nolint:staticcheck
	cronTZ, tzSet := "", false
	for i, cs := range c.CronString {
		cal, iv, tz, err := parseCron(cs)
		if err != nil {
			return nil, fieldErr("cron_string", i, err)
		}
		if tzSet && tz != cronTZ {
			return nil, fieldErr("cron_string", i, errors.New("conflicting timezone names"))
		}
		cronTZ, tzSet = tz, true
		if cal != nil {
			c.StructuredCalendar = append(c.StructuredCalendar, cal)
		}
		if iv != nil {
			c.Interval = append(c.Interval, iv)
		}
	}
	c.CronString = nil
	if cronTZ != "" {
		if c.TimezoneData != nil || (c.TimezoneName != "" && c.TimezoneName != cronTZ) {
			return nil, fieldErr("cron_string", -1, errors.New("conflicting timezone names"))
		}
		c.TimezoneName = cronTZ
	}
	s := &Spec{canonical: c}
	var err error
	if c.TimezoneData != nil {
		s.loc, err = time.LoadLocationFromTZData(c.TimezoneName, c.TimezoneData)
	} else {
		s.loc, err = time.LoadLocation(c.TimezoneName)
	}
	if err != nil {
		return nil, fieldErr("timezone_name", -1, fmt.Errorf("unknown time zone %q", c.TimezoneName))
	}
	for i, sc := range c.StructuredCalendar {
		if err := checkCalendar(sc); err != nil {
			return nil, fieldErr("structured_calendar", i, err)
		}
		s.calendars = append(s.calendars, compileCalendar(sc, s.loc))
	}
	for i, sc := range c.ExcludeStructuredCalendar {
		if err := checkCalendar(sc); err != nil {
			return nil, fieldErr("exclude_structured_calendar", i, err)
		}
		s.excludes = append(s.excludes, compileCalendar(sc, s.loc))
	}
	for i, iv := range c.Interval {
		if iv == nil {
			return nil, fieldErr("interval", i, errors.New("interval is nil"))
		}
		every, phase := iv.Interval.AsDuration(), iv.Phase.AsDuration()
		switch {
		case iv.Interval == nil || every < time.Second:
			return nil, fieldErr("interval", i, errors.New("interval is too small"))
		case phase < 0:
			return nil, fieldErr("interval", i, errors.New("phase is negative"))
		case phase >= every:
			return nil, fieldErr("interval", i, errors.New("phase cannot be greater than Interval"))
		}
		s.intervals = append(s.intervals, interval{int64(every / time.Second), int64(phase / time.Second)})
	}
	if c.Jitter != nil {
		if s.jitter = c.Jitter.AsDuration(); s.jitter < 0 {
			return nil, fieldErr("jitter", -1, errors.New("jitter is negative"))
		}
	}
	if c.StartTime != nil {
		s.start = c.StartTime.AsTime()
	}
	if c.EndTime != nil {
		s.end = c.EndTime.AsTime()
	}
	return s, nil
}

func checkCalendar(sc *schedulepb.StructuredCalendarSpec) error {
	var errs []string
	check := func(rs []*schedulepb.Range, name string, lo, hi int32) {
		for _, r := range rs {
			switch {
			case r == nil:
				errs = append(errs, name+" range is nil")
			case r.Start < lo || r.Start > hi:
				errs = append(errs, fmt.Sprintf("%s Start is not in range [%d-%d]", name, lo, hi))
			case r.End != 0 && (r.End < r.Start || r.End > hi):
				errs = append(errs, fmt.Sprintf("%s End is before Start or not in range [%d-%d]", name, lo, hi))
			case r.Step < 0:
				errs = append(errs, name+" has invalid Step")
			}
		}
	}
	check(sc.Second, "Second", 0, 59)
	check(sc.Minute, "Minute", 0, 59)
	check(sc.Hour, "Hour", 0, 23)
	check(sc.DayOfMonth, "DayOfMonth", 1, 31)
	check(sc.Month, "Month", 1, 12)
	check(sc.Year, "Year", MinYear, MaxYear)
	check(sc.DayOfWeek, "DayOfWeek", 0, 6)
	if len(sc.Comment) > maxCommentLen {
		errs = append(errs, "comment is too long")
	}
	if len(errs) > 0 {
		return errors.New("invalid calendar spec: " + strings.Join(errs, ", "))
	}
	return nil
}

// Canonical is the spec as DescribeSchedule reports it: cron strings and
// string calendars replaced by structured calendars and intervals, a
// CRON_TZ moved to timezone_name.
func (s *Spec) Canonical() *schedulepb.ScheduleSpec {
	return proto.Clone(s.canonical).(*schedulepb.ScheduleSpec)
}

// Location is the spec's time zone.
func (s *Spec) Location() *time.Location { return s.loc }

// Time is one firing: Nominal is the time the spec matches, Actual is
// Nominal plus jitter (when the action is taken).
type Time struct {
	Nominal, Actual time.Time
}

// maxSkips bounds the search past excluded times, so a spec whose every
// time is excluded ends instead of spinning to MaxYear second by second.
const maxSkips = 100000

// Next returns the first firing whose nominal time is after after (ok false
// when there is none). The jitter is a deterministic function of seed and
// the nominal time, at most the spec's jitter and never past the next
// nominal time.
func (s *Spec) Next(seed string, after time.Time) (Time, bool) {
	if !s.start.IsZero() && after.Before(s.start.Add(-time.Second)) {
		after = s.start.Add(-time.Second) // so that start itself can match
	}
	var nominal time.Time
	for i := 0; ; i++ {
		if i >= maxSkips {
			return Time{}, false
		}
		nominal = s.rawNext(after)
		if nominal.IsZero() || (!s.end.IsZero() && nominal.After(s.end)) || nominal.Year() > MaxYear {
			return Time{}, false
		}
		if !s.excluded(nominal) {
			break
		}
		after = nominal
	}
	maxJitter := s.jitter
	if following := s.rawNext(nominal); !following.IsZero() && following.Sub(nominal) < maxJitter {
		maxJitter = following.Sub(nominal)
	}
	return Time{Nominal: nominal, Actual: nominal.Add(jitter(seed, nominal, maxJitter))}, true
}

// rawNext is the first matching time after after, ignoring excludes and
// the end time.
func (s *Spec) rawNext(after time.Time) time.Time {
	best := int64(math.MaxInt64)
	for _, c := range s.calendars {
		if t := c.next(after); !t.IsZero() && t.Unix() < best {
			best = t.Unix()
		}
	}
	ts := after.Unix()
	for _, iv := range s.intervals {
		n := floorDiv(ts-iv.phase, iv.every)
		if t := (n+1)*iv.every + iv.phase; t < best {
			best = t
		}
	}
	if best == math.MaxInt64 {
		return time.Time{}
	}
	return time.Unix(best, 0).UTC()
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func (s *Spec) excluded(t time.Time) bool {
	for _, c := range s.excludes {
		if c.matches(t) {
			return true
		}
	}
	return false
}

// jitter picks a duration in [0, max) from a hash of the seed and the
// nominal time, in whole milliseconds, so the same schedule fires at the
// same actual time for a nominal time however often it is computed.
func jitter(seed string, nominal time.Time, max time.Duration) time.Duration {
	ms := max.Milliseconds()
	if ms <= 0 {
		return 0
	}
	if ms > math.MaxUint32 {
		ms = math.MaxUint32
	}
	h := fnv.New32a()
	var b [8]byte
	u := uint64(nominal.Unix())
	for i := range b {
		b[i] = byte(u >> (8 * i))
	}
	h.Write(b[:])
	h.Write([]byte(seed))
	return time.Duration((uint64(h.Sum32())*uint64(ms))>>32) * time.Millisecond
}

// Times returns the firings whose nominal time is after from and whose
// actual time is not after to, at most limit of them (limit <= 0: all).
func (s *Spec) Times(seed string, from, to time.Time, limit int) []Time {
	var out []Time
	for t, ok := s.Next(seed, from); ok && !t.Actual.After(to); t, ok = s.Next(seed, t.Nominal) {
		out = append(out, t)
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	return out
}
