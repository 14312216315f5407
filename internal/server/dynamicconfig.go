package server

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sundial-io/sundial/internal/execution"
)

// limitKeys maps Temporal's dynamic config keys that Sundial honours to
// the field they set. Test suites pass them to a dev server
// (`temporal server start-dev --dynamic-config-value KEY=VALUE`) to
// exercise continue-as-new suggestions and history-limit termination.
var limitKeys = map[string]func(*execution.Limits) *int64{
	"limit.historyCount.warn":                 func(l *execution.Limits) *int64 { return &l.HistoryCountWarn },
	"limit.historyCount.error":                func(l *execution.Limits) *int64 { return &l.HistoryCountError },
	"limit.historyCount.suggestContinueAsNew": func(l *execution.Limits) *int64 { return &l.HistoryCountSuggestCAN },
	"limit.historySize.warn":                  func(l *execution.Limits) *int64 { return &l.HistorySizeWarn },
	"limit.historySize.error":                 func(l *execution.Limits) *int64 { return &l.HistorySizeError },
	"limit.historySize.suggestContinueAsNew":  func(l *execution.Limits) *int64 { return &l.HistorySizeSuggestCAN },
}

// ParseDynamicConfig reads KEY=VALUE settings in the form the temporal
// CLI's --dynamic-config-value takes. It returns the history limits
// (Temporal's defaults where not set) and the keys it does not know, which
// the caller reports and otherwise ignores (they are mostly switches for
// features Sundial has on anyway). A known key with a value that is not a
// non-negative integer is an error.
func ParseDynamicConfig(values []string) (*execution.Limits, []string, error) {
	l := execution.DefaultLimits()
	var unknown []string
	for _, kv := range values {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, nil, fmt.Errorf("dynamic config value %q: want KEY=VALUE", kv)
		}
		field, known := limitKeys[k]
		if !known {
			unknown = append(unknown, k)
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 0 {
			return nil, nil, fmt.Errorf("dynamic config value %s: %q is not a non-negative integer", k, v)
		}
		*field(&l) = n
	}
	return &l, unknown, nil
}
