package execution

import (
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundial-io/sundial/internal/visibility"
)

// Workflow rules (Temporal's CreateWorkflowRule): a namespace's rules
// pause activities. A rule has an activity-start trigger (a predicate on
// the activity) and may restrict itself to runs a visibility query
// selects; while it has not expired, an activity it matches is paused
// (Temporal's only action), its pause naming the rule. As in Temporal the
// rules are looked at when an activity's first attempt is about to start
// (the task is then not given to the worker) and when an attempt failed
// with a retry to come (the retry then waits for the unpause); a paused
// activity is left alone. The engine hands the namespace's rules to the
// state before each change (SetActivityRules); the state stays pure.

// ActivityRule is one workflow rule, parsed.
type ActivityRule struct {
	ID string
	// Identity and Description are the rule's creator and description,
	// shown as who paused the activity and why.
	Identity, Description string
	// Expires is the rule's expiration time (zero: never).
	Expires time.Time
	// Runs selects the runs the rule applies to (nil: all).
	Runs *visibility.Query
	// Activity is the trigger's predicate.
	Activity *visibility.Query
	// Pause is set when the rule's actions include pausing the activity.
	Pause bool
}

// SetActivityRules gives the state its namespace's rules (nil: none).
func (s *State) SetActivityRules(rules []*ActivityRule) { s.activityRules = rules }

// activity predicate attributes (Temporal's activity matcher).
const (
	ruleActivityID      = "ActivityId"
	ruleActivityType    = "ActivityType"
	ruleActivityState   = "ActivityState"
	ruleAttempts        = "Attempts"
	ruleBackoffInterval = "BackoffInterval"
	ruleTaskQueue       = "TaskQueue"
	ruleStartedTime     = "StartedTime"
)

var ruleFields = map[string]enumspb.IndexedValueType{
	ruleActivityID: enumspb.INDEXED_VALUE_TYPE_KEYWORD, ruleActivityType: enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	ruleActivityState: enumspb.INDEXED_VALUE_TYPE_KEYWORD, ruleTaskQueue: enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	ruleAttempts: enumspb.INDEXED_VALUE_TYPE_INT, ruleBackoffInterval: enumspb.INDEXED_VALUE_TYPE_INT,
	ruleStartedTime: enumspb.INDEXED_VALUE_TYPE_DATETIME,
}

var activityPredicateSchema = visibility.Schema{
	Resolve: func(name string) (string, enumspb.IndexedValueType, bool) {
		t, ok := ruleFields[name]
		return name, t, ok
	},
	Operators: func(field string, typ enumspb.IndexedValueType) []string {
		switch typ {
		case enumspb.INDEXED_VALUE_TYPE_KEYWORD:
			return []string{"=", "!=", "starts_with", "not starts_with"}
		case enumspb.INDEXED_VALUE_TYPE_DATETIME:
			return []string{"=", "!=", "<", "<=", ">", ">=", "between", "not between"}
		}
		return []string{"=", "!=", "<", "<=", ">", ">="}
	},
	CheckValue: func(field string, _ enumspb.IndexedValueType, v any) error {
		if s, ok := v.(string); ok && s == "" {
			return fmt.Errorf("%s cannot be empty", field)
		}
		return nil
	},
	NoNot: true,
}

// ParseActivityPredicate parses a rule's activity-start predicate: the
// list-filter language over ActivityId, ActivityType, ActivityState
// ("Scheduled", "Started", "CancelRequested", "Paused"), Attempts,
// BackoffInterval (seconds, from the second attempt on), TaskQueue and
// StartedTime, with AND, OR and parentheses, as Temporal's matcher.
func ParseActivityPredicate(p string) (*visibility.Query, error) {
	p = strings.TrimSpace(p)
	if lower := strings.ToLower(p); strings.HasPrefix(lower, "where ") || strings.HasPrefix(lower, "select ") {
		return nil, fmt.Errorf("invalid filter: %s", p)
	}
	return visibility.ParseWith(p, activityPredicateSchema)
}

// activityField reads a predicate attribute of act.
func activityField(act *Activity, field string) any {
	switch field {
	case ruleActivityID:
		return act.Attrs.GetActivityId()
	case ruleActivityType:
		return act.Attrs.GetActivityType().GetName()
	case ruleTaskQueue:
		return act.Attrs.GetTaskQueue().GetName()
	case ruleAttempts:
		return int64(act.Attempt)
	case ruleActivityState:
		switch {
		case act.Paused:
			return "Paused"
		case act.Started:
			return "Started"
		case act.CancelRequested:
			return "CancelRequested"
		}
		return "Scheduled"
	case ruleBackoffInterval:
		if act.Attempt < 2 || act.LastAttemptCompleteTime.IsZero() {
			return nil
		}
		return int64(act.AttemptScheduledTime.Sub(act.LastAttemptCompleteTime) / time.Second)
	case ruleStartedTime:
		if !act.Started {
			return nil
		}
		return act.StartedTime
	}
	return nil
}

// applyActivityRules pauses act if an unexpired rule matches it and the
// run; it reports whether it did.
func (s *State) applyActivityRules(now time.Time, act *Activity) bool {
	if act.Paused || len(s.activityRules) == 0 {
		return false
	}
	var info *workflowpb.WorkflowExecutionInfo
	for _, r := range s.activityRules {
		if !r.Pause || !r.Expires.IsZero() && r.Expires.Before(now) {
			continue
		}
		if !r.Activity.MatchLookup(func(f string) any { return activityField(act, f) }) {
			continue
		}
		if r.Runs != nil {
			if info == nil {
				info = s.Info()
			}
			if !r.Runs.Match(info) {
				continue
			}
		}
		act.Paused = true
		act.pauseRequestID = ""
		act.PauseInfo = &workflowpb.PendingActivityInfo_PauseInfo{
			PauseTime: timestamppb.New(now),
			PausedBy: &workflowpb.PendingActivityInfo_PauseInfo_Rule_{Rule: &workflowpb.PendingActivityInfo_PauseInfo_Rule{
				RuleId: r.ID, Identity: r.Identity, Reason: r.Description,
			}},
		}
		s.out.RecordChanged = true
		return true
	}
	return false
}

// errPausedByRule: the attempt about to start was paused by a rule (the
// task is stale: the engine drops it and the poll goes on).
var errPausedByRule = fmt.Errorf("%w: the activity was paused by a workflow rule", ErrStaleTask)

// CheckActivityRule validates a rule as Sundial applies it (the frontend
// calls it at create): its trigger's predicate and visibility query must
// parse, custom names against the namespace's search attributes.
func CheckActivityRule(predicate, query string, custom map[string]enumspb.IndexedValueType) (*visibility.Query, *visibility.Query, error) {
	act, err := ParseActivityPredicate(predicate)
	if err != nil {
		return nil, nil, serviceerror.NewInvalidArgumentf("Spec.ActivityStart.Predicate: %v", err)
	}
	var runs *visibility.Query
	if strings.TrimSpace(query) != "" {
		if runs, err = visibility.Parse(query, custom); err != nil {
			return nil, nil, serviceerror.NewInvalidArgumentf("Spec.VisibilityQuery: %v", err)
		}
	}
	return act, runs, nil
}
