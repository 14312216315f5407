package visibility

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
)

// literal is a constant from the query before it is checked against the
// attribute it is compared with.
type literal struct {
	v   any // string, int64, float64 or bool
	pos int
}

// parseNumber follows Temporal: an integer if it fits in int64, else a
// float, else an error.
func parseNumber(s string, pos int) (literal, error) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return literal{v: i, pos: pos}, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return literal{v: f, pos: pos}, nil
	}
	return literal{}, queryErr(pos, kindInvalid, "unable to parse value %q", s)
}

// convert checks a literal against an attribute and returns the value in the
// form fields.go reads records in, so evaluation is a plain comparison.
func convert(a *attribute, l literal) (any, error) {
	switch a.field {
	case ExecutionStatus:
		return statusValue(l)
	case ExecutionDuration:
		return durationValue(l)
	}
	wrongType := func() error {
		return queryErr(l.pos, kindInvalid,
			"invalid value type for search attribute %s of type %s: %#v (type: %T)", a.name, a.typ, l.v, l.v)
	}
	switch a.typ {
	case intT, dbl:
		switch l.v.(type) {
		case int64, float64:
			return l.v, nil
		}
	case boolT:
		if _, ok := l.v.(bool); ok {
			return l.v, nil
		}
	case dt:
		switch v := l.v.(type) {
		case int64:
			return time.Unix(0, v).UTC(), nil
		case string:
			tm, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return nil, queryErr(l.pos, kindInvalid, "unable to parse datetime '%s'", v)
			}
			return tm, nil
		}
	case kw, kwList, text:
		if _, ok := l.v.(string); ok {
			return l.v, nil
		}
	default:
		return nil, queryErr(l.pos, kindInvalid, "unknown search attribute type %s for %s", a.typ, a.name)
	}
	return nil, wrongType()
}

// statusValue accepts a status name ('Running' or
// 'WORKFLOW_EXECUTION_STATUS_RUNNING') or its number, and returns the
// number, which is how the record is compared.
func statusValue(l literal) (any, error) {
	switch v := l.v.(type) {
	case int64:
		if _, ok := enumspb.WorkflowExecutionStatus_name[int32(v)]; ok && v == int64(int32(v)) {
			return v, nil
		}
		return nil, queryErr(l.pos, kindInvalid, "invalid %s value %v", ExecutionStatus, v)
	case string:
		if s, err := enumspb.WorkflowExecutionStatusFromString(v); err == nil {
			return int64(s), nil
		}
		return nil, queryErr(l.pos, kindInvalid, "invalid %s value '%s'", ExecutionStatus, v)
	}
	return nil, queryErr(l.pos, kindInvalid, "unexpected value type %T for search attribute %s", l.v, ExecutionStatus)
}

// durationValue accepts nanoseconds as a number or a string, a Go duration
// with an extra "d" unit ('1d2h', '300ms'), or 'hh:mm:ss'.
func durationValue(l literal) (any, error) {
	switch v := l.v.(type) {
	case int64:
		return v, nil
	case string:
		if d, ok := parseDuration(v); ok {
			return int64(d), nil
		}
		return nil, queryErr(l.pos, kindInvalid,
			"invalid duration value for search attribute %s: %v", ExecutionDuration, v)
	}
	return nil, queryErr(l.pos, kindInvalid, "unexpected value type %T for search attribute %s", l.v, ExecutionDuration)
}

var (
	daysRE = regexp.MustCompile(`(\d+(\.\d*)?|\.\d+)d`)
	hmsRE  = regexp.MustCompile(`^(\d+):(\d+):(\d+)$`)
)

func parseDuration(s string) (time.Duration, bool) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Duration(n), true
	}
	goStyle := daysRE.ReplaceAllStringFunc(s, func(d string) string {
		f, err := strconv.ParseFloat(strings.TrimSuffix(d, "d"), 64)
		if err != nil {
			return d
		}
		return strconv.FormatFloat(24*f, 'f', -1, 64) + "h"
	})
	if d, err := time.ParseDuration(goStyle); err == nil {
		return d, true
	}
	m := hmsRE.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	h, errH := strconv.ParseInt(m[1], 10, 64)
	mi, _ := strconv.ParseInt(m[2], 10, 64)
	sec, _ := strconv.ParseInt(m[3], 10, 64)
	if errH != nil || h >= int64(time.Duration(1<<63-1)/time.Hour) || mi > 59 || sec > 59 {
		return 0, false
	}
	return time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute + time.Duration(sec)*time.Second, true
}
