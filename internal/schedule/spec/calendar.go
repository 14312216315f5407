package spec

import (
	"time"

	schedulepb "go.temporal.io/api/schedule/v1"
)

// calendar is a compiled StructuredCalendarSpec: a bit set per field
// (years as ranges, none meaning every year), matched against the wall
// clock of loc.
type calendar struct {
	loc                                       *time.Location
	second, minute, hour, dom, month, weekday uint64
	years                                     []*schedulepb.Range
}

func bits(rs []*schedulepb.Range) uint64 {
	var b uint64
	for _, r := range rs {
		end, step := r.End, r.Step
		if end < r.Start {
			end = r.Start
		}
		if step <= 0 {
			step = 1
		}
		for v := r.Start; v <= end && v < 64; v += step {
			b |= 1 << uint(v)
		}
	}
	return b
}

func compileCalendar(sc *schedulepb.StructuredCalendarSpec, loc *time.Location) *calendar {
	return &calendar{
		loc:     loc,
		second:  bits(sc.Second),
		minute:  bits(sc.Minute),
		hour:    bits(sc.Hour),
		dom:     bits(sc.DayOfMonth),
		month:   bits(sc.Month),
		weekday: bits(sc.DayOfWeek),
		years:   sc.Year,
	}
}

func has(b uint64, v int) bool { return b&(1<<uint(v)) != 0 }

func (c *calendar) yearOK(y int) bool {
	if len(c.years) == 0 {
		return true
	}
	for _, r := range c.years {
		end, step := r.End, r.Step
		if end < r.Start {
			end = r.Start
		}
		if step <= 0 {
			step = 1
		}
		if int32(y) >= r.Start && int32(y) <= end && (int32(y)-r.Start)%step == 0 {
			return true
		}
	}
	return false
}

// wall is the wall clock of t in loc, as a UTC time (so arithmetic on it
// has no DST).
func wall(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), 0, time.UTC)
}

func (c *calendar) matchesWall(w time.Time) bool {
	return c.yearOK(w.Year()) && has(c.month, int(w.Month())) && has(c.dom, w.Day()) &&
		has(c.weekday, int(w.Weekday())) && has(c.hour, w.Hour()) && has(c.minute, w.Minute()) && has(c.second, w.Second())
}

func (c *calendar) matches(t time.Time) bool { return c.matchesWall(wall(t, c.loc)) }

// nextWall returns the first wall time >= w that the calendar matches, or
// the zero time past MaxYear.
func (c *calendar) nextWall(w time.Time) time.Time {
	for w.Year() <= MaxYear {
		y, mo, d := w.Date()
		h, mi, _ := w.Clock()
		switch {
		case !c.yearOK(y):
			w = time.Date(y+1, 1, 1, 0, 0, 0, 0, time.UTC)
		case !has(c.month, int(mo)):
			w = time.Date(y, mo+1, 1, 0, 0, 0, 0, time.UTC)
		case !has(c.dom, d) || !has(c.weekday, int(w.Weekday())):
			w = time.Date(y, mo, d+1, 0, 0, 0, 0, time.UTC)
		case !has(c.hour, h):
			w = time.Date(y, mo, d, h+1, 0, 0, 0, time.UTC)
		case !has(c.minute, mi):
			w = time.Date(y, mo, d, h, mi+1, 0, 0, time.UTC)
		case !has(c.second, w.Second()):
			w = w.Add(time.Second)
		default:
			return w
		}
	}
	return time.Time{}
}

// dstMargin bounds how far a zone's wall clock can jump (DST shifts are at
// most two hours anywhere).
const dstMargin = 3 * time.Hour

// instants returns the instants whose wall clock in loc is w: none in a
// gap skipped by a DST change, two in an hour that repeats.
func (c *calendar) instants(w time.Time) []time.Time {
	t := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, c.loc)
	var out []time.Time
	for _, d := range []time.Duration{-2 * time.Hour, -time.Hour, -30 * time.Minute, 0, 30 * time.Minute, time.Hour, 2 * time.Hour} {
		if u := t.Add(d); wall(u, c.loc).Equal(w) {
			out = append(out, u)
		}
	}
	return out
}

// stable says loc's UTC offset is the same from dstMargin before t to
// dstMargin after it, so wall clock order is instant order around t.
func (c *calendar) stable(t time.Time) bool {
	_, a := t.Add(-dstMargin).In(c.loc).Zone()
	_, b := t.Add(dstMargin).In(c.loc).Zone()
	return a == b
}

// next returns the first instant after after that the calendar matches.
// It walks wall clock times from after's own. Near a DST change it starts
// a little earlier (an instant later than after can show an earlier wall
// clock when clocks go back) and keeps the smallest instant found until no
// later wall time can beat it.
func (c *calendar) next(after time.Time) time.Time {
	w := wall(after, c.loc)
	if !c.stable(after) {
		w = w.Add(-dstMargin)
	}
	var best time.Time
	for {
		w = c.nextWall(w)
		if w.IsZero() || (!best.IsZero() && w.After(wall(best, c.loc).Add(dstMargin))) {
			return best
		}
		for _, t := range c.instants(w) {
			if t.After(after) && (best.IsZero() || t.Before(best)) {
				best = t
			}
		}
		if !best.IsZero() && c.stable(best) {
			return best
		}
		w = w.Add(time.Second)
	}
}
