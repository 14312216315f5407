package main

import (
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
)

func TestSchedFireTimeIsAWholeMinuteAfterLead(t *testing.T) {
	now := time.Date(2026, 11, 27, 6, 45, 10, 500, time.UTC)
	for _, c := range []struct {
		lead time.Duration
		want time.Time
	}{
		{90 * time.Second, time.Date(2026, 11, 27, 6, 47, 0, 0, time.UTC)},
		{49 * time.Second, time.Date(2026, 11, 27, 6, 46, 0, 0, time.UTC)},
		{50 * time.Second, time.Date(2026, 11, 27, 6, 47, 0, 0, time.UTC)},
	} {
		if got := schedFireTime(now, c.lead); !got.Equal(c.want) {
			t.Errorf("lead %s: %s, want %s", c.lead, got, c.want)
		}
	}
}

func TestOnceSpecFixesEveryField(t *testing.T) {
	at := time.Date(2026, 11, 27, 6, 47, 0, 0, time.UTC)
	c := onceSpec(at).Calendars[0]
	for name, r := range map[string]int{"second": c.Second[0].Start, "minute": c.Minute[0].Start, "hour": c.Hour[0].Start,
		"day": c.DayOfMonth[0].Start, "month": c.Month[0].Start, "year": c.Year[0].Start} {
		want := map[string]int{"second": 0, "minute": 47, "hour": 6, "day": 27, "month": 11, "year": 2026}[name]
		if r != want {
			t.Errorf("%s = %d, want %d", name, r, want)
		}
	}
}

func TestParseOverlap(t *testing.T) {
	if p, err := parseOverlap("allow_all"); err != nil || p != enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL {
		t.Fatalf("allow_all: %v %v", p, err)
	}
	for _, bad := range []string{"", "unspecified", "sometimes"} {
		if _, err := parseOverlap(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestAllLeavesOutOptInScenarios(t *testing.T) {
	all, err := selectScenarios("all")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.name == "schedburst" {
			t.Fatal("schedburst runs in the default list")
		}
	}
	named, err := selectScenarios("schedburst")
	if err != nil || len(named) != 1 || named[0].name != "schedburst" {
		t.Fatalf("named: %v %v", named, err)
	}
}
