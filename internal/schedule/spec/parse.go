package spec

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	schedulepb "go.temporal.io/api/schedule/v1"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Calendar years outside [MinYear, MaxYear] never match, as in Temporal.
const (
	MinYear = 2000
	MaxYear = 2100

	maxCommentLen = 200
)

type valueKind int

const (
	kindInt valueKind = iota
	kindMonth
	kindWeekday
	kindYear
)

var monthNames = []string{"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}
var weekdayNames = []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}

// parseCalendar turns the string form of a calendar (CalendarSpec, or the
// fields of a cron string) into the structured form. Unset fields take
// Temporal's defaults: second, minute and hour 0, the others "*".
func parseCalendar(cal *schedulepb.CalendarSpec) (*schedulepb.StructuredCalendarSpec, error) {
	var errs []string
	field := func(s, name, def string, lo, hi int, kind valueKind) []*schedulepb.Range {
		r, err := parseField(s, name, def, lo, hi, kind)
		if err != nil {
			errs = append(errs, err.Error())
		}
		return r
	}
	out := &schedulepb.StructuredCalendarSpec{
		Second:     field(cal.Second, "Second", "0", 0, 59, kindInt),
		Minute:     field(cal.Minute, "Minute", "0", 0, 59, kindInt),
		Hour:       field(cal.Hour, "Hour", "0", 0, 23, kindInt),
		DayOfMonth: field(cal.DayOfMonth, "DayOfMonth", "*", 1, 31, kindInt),
		Month:      field(cal.Month, "Month", "*", 1, 12, kindMonth),
		Year:       field(cal.Year, "Year", "*", MinYear, MaxYear, kindYear),
		DayOfWeek:  field(cal.DayOfWeek, "DayOfWeek", "*", 0, 7, kindWeekday),
		Comment:    cal.Comment,
	}
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, ", "))
	}
	return out, nil
}

// parseField parses one comma-separated field: "*", "x", "x-z", "x/y",
// "x-z/y", "*/y", with names for months and weekdays.
func parseField(s, name, def string, lo, hi int, kind valueKind) ([]*schedulepb.Range, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		s = def
	}
	if s == "*" && kind == kindYear {
		return nil, nil // no year ranges: every year
	}
	var out []*schedulepb.Range
	for _, part := range strings.Split(s, ",") {
		step, hasStep := 1, false
		if strings.Count(part, "/") > 1 {
			return nil, fmt.Errorf("%s has too many slashes", name)
		}
		if base, st, ok := strings.Cut(part, "/"); ok {
			n, err := strconv.Atoi(st)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("%s has invalid Step", name)
			}
			part, step, hasStep = base, n, true
		}
		start, end := lo, hi
		if part != "*" {
			if strings.Count(part, "-") > 1 {
				return nil, fmt.Errorf("%s has too many dashes", name)
			}
			var err error
			if a, b, ok := strings.Cut(part, "-"); ok {
				if start, err = parseValue(a, lo, hi, kind); err != nil {
					return nil, fmt.Errorf("%s Start is not in range [%d-%d]", name, lo, hi)
				}
				if end, err = parseValue(b, start, hi, kind); err != nil {
					return nil, fmt.Errorf("%s End is before Start or not in range [%d-%d]", name, lo, hi)
				}
			} else {
				if start, err = parseValue(part, lo, hi, kind); err != nil {
					return nil, fmt.Errorf("%s is not in range [%d-%d]", name, lo, hi)
				}
				if !hasStep {
					end = start // "x/y" runs from x to the top; "x" is just x
				}
			}
		}
		// Sunday may be written 7: fold it into 0, adding a separate 0
		// when the range cannot simply be cut at 6.
		if kind == kindWeekday && end == 7 {
			if (7-start)%step == 0 && (step > 1 || start > 1) {
				out = append(out, &schedulepb.Range{Start: 0})
				if start == 7 {
					continue
				}
			}
			end = 6
		}
		r := &schedulepb.Range{Start: int32(start), End: int32(end), Step: int32(step)}
		if start == end {
			r.End = 0
		}
		if step == 1 {
			r.Step = 0
		}
		out = append(out, r)
	}
	return out, nil
}

func parseValue(s string, lo, hi int, kind valueKind) (int, error) {
	names := monthNames
	base := 1
	if kind == kindWeekday {
		names, base = weekdayNames, 0
	}
	if (kind == kindMonth || kind == kindWeekday) && len(s) >= 3 {
		l := strings.ToLower(s)
		for i, n := range names {
			if strings.HasPrefix(n, l) {
				return i + base, nil
			}
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, err
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("%d out of range", n)
	}
	return n, nil
}

var shorthands = map[string]string{
	"@yearly":   "0 0 1 1 *",
	"@annually": "0 0 1 1 *",
	"@monthly":  "0 0 1 * *",
	"@weekly":   "0 0 * * 0",
	"@daily":    "0 0 * * *",
	"@midnight": "0 0 * * *",
	"@hourly":   "0 * * * *",
}

// parseCron parses one cron string: an optional CRON_TZ=/TZ= prefix, then
// 5, 6 or 7 fields, a shorthand (@daily, ...) or "@every <d>[/<phase>]",
// then an optional "# comment". It returns a calendar or an interval, and
// the time zone name given in the string ("" if none).
func parseCron(c string) (*schedulepb.StructuredCalendarSpec, *schedulepb.IntervalSpec, string, error) {
	c = strings.TrimSpace(c)
	var tz string
	if strings.HasPrefix(c, "TZ=") || strings.HasPrefix(c, "CRON_TZ=") {
		prefix, rest, ok := strings.Cut(c, " ")
		if !ok {
			return nil, nil, "", errors.New("CronString has time zone but missing fields")
		}
		_, tz, _ = strings.Cut(prefix, "=")
		c = rest
	}
	c, comment, _ := strings.Cut(c, "#")
	c, comment = strings.TrimSpace(c), strings.TrimSpace(comment)
	if strings.HasPrefix(c, "@every") {
		// An interval has no use for a time zone; as in Temporal, a
		// CRON_TZ on it is dropped.
		iv, err := parseEvery(c)
		return nil, iv, "", err
	}
	if full, ok := shorthands[c]; ok {
		c = full
	}
	f := strings.Fields(c)
	cal := &schedulepb.CalendarSpec{Comment: comment}
	switch len(f) {
	case 5:
		cal.Minute, cal.Hour, cal.DayOfMonth, cal.Month, cal.DayOfWeek = f[0], f[1], f[2], f[3], f[4]
	case 6:
		cal.Minute, cal.Hour, cal.DayOfMonth, cal.Month, cal.DayOfWeek, cal.Year = f[0], f[1], f[2], f[3], f[4], f[5]
	case 7:
		cal.Second, cal.Minute, cal.Hour, cal.DayOfMonth, cal.Month, cal.DayOfWeek, cal.Year = f[0], f[1], f[2], f[3], f[4], f[5], f[6]
	default:
		return nil, nil, "", errors.New("CronString does not have 5-7 fields")
	}
	s, err := parseCalendar(cal)
	return s, nil, tz, err
}

// parseEvery parses "@every 90s" or "@every 1h/15m" (interval/phase).
func parseEvery(c string) (*schedulepb.IntervalSpec, error) {
	_, arg, ok := strings.Cut(c, " ")
	arg = strings.TrimSpace(arg)
	if !ok || arg == "" {
		return nil, errors.New("CronString does not have interval after @every")
	}
	every, phase, hasPhase := strings.Cut(arg, "/")
	d, err := parseDuration(every)
	if err != nil {
		return nil, err
	}
	iv := &schedulepb.IntervalSpec{Interval: durationpb.New(d)}
	if hasPhase {
		p, err := parseDuration(phase)
		if err != nil {
			return nil, err
		}
		iv.Phase = durationpb.New(p)
	}
	return iv, nil
}

// parseDuration is time.ParseDuration plus a "d" unit of 24 hours.
func parseDuration(s string) (time.Duration, error) {
	var total time.Duration
	rest := s
	for {
		i := strings.IndexByte(rest, 'd')
		if i < 0 {
			break
		}
		n, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		total += time.Duration(n * float64(24*time.Hour))
		rest = rest[i+1:]
	}
	if rest != "" {
		d, err := time.ParseDuration(rest)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		total += d
	}
	return total, nil
}
