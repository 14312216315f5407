package server

import (
	"reflect"
	"testing"

	"github.com/sundial-io/sundial/internal/execution"
)

func TestParseDynamicConfig(t *testing.T) {
	l, unknown, err := ParseDynamicConfig([]string{
		"limit.historyCount.warn=50", "limit.historyCount.error=100", "limit.historyCount.suggestContinueAsNew=40",
		"limit.historySize.warn=5000", "limit.historySize.error=10000", "limit.historySize.suggestContinueAsNew=4000",
		"system.enableEagerWorkflowStart=true",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := execution.Limits{HistoryCountWarn: 50, HistoryCountError: 100, HistoryCountSuggestCAN: 40,
		HistorySizeWarn: 5000, HistorySizeError: 10000, HistorySizeSuggestCAN: 4000}
	if *l != want || !reflect.DeepEqual(unknown, []string{"system.enableEagerWorkflowStart"}) {
		t.Fatalf("limits %+v unknown %v", *l, unknown)
	}
	if l, _, err := ParseDynamicConfig(nil); err != nil || *l != execution.DefaultLimits() {
		t.Fatalf("defaults: %+v %v", l, err)
	}
	for _, bad := range []string{"limit.historyCount.error=lots", "limit.historySize.warn=-1", "novalue", "=3"} {
		if _, _, err := ParseDynamicConfig([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
