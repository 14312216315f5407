package visibility

import (
	"maps"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
)

// Names of the system search attributes. Temporal stores these as columns
// of the visibility record rather than in its search attribute map, so they
// are read from WorkflowExecutionInfo fields.
const (
	WorkflowID           = "WorkflowId"
	RunID                = "RunId"
	WorkflowType         = "WorkflowType"
	StartTime            = "StartTime"
	ExecutionTime        = "ExecutionTime"
	CloseTime            = "CloseTime"
	ExecutionStatus      = "ExecutionStatus"
	TaskQueue            = "TaskQueue"
	HistoryLength        = "HistoryLength"
	HistorySizeBytes     = "HistorySizeBytes"
	ExecutionDuration    = "ExecutionDuration"
	StateTransitionCount = "StateTransitionCount"
	ParentWorkflowID     = "ParentWorkflowId"
	ParentRunID          = "ParentRunId"
	RootWorkflowID       = "RootWorkflowId"
	RootRunID            = "RootRunId"

	// NamespaceDivision hides internal workflows (for example schedulers)
	// from queries that do not name it; see Query.Match.
	NamespaceDivision = "TemporalNamespaceDivision"

	// ScheduleID is accepted in queries as another name for WorkflowId
	// unless a custom attribute of that name exists, as in Temporal.
	ScheduleID = "ScheduleId"

	reservedPrefix = "Temporal"
)

const (
	kw     = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	kwList = enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST
	text   = enumspb.INDEXED_VALUE_TYPE_TEXT
	intT   = enumspb.INDEXED_VALUE_TYPE_INT
	dbl    = enumspb.INDEXED_VALUE_TYPE_DOUBLE
	boolT  = enumspb.INDEXED_VALUE_TYPE_BOOL
	dt     = enumspb.INDEXED_VALUE_TYPE_DATETIME
)

var systemAttrs = map[string]enumspb.IndexedValueType{
	WorkflowID: kw, RunID: kw, WorkflowType: kw, TaskQueue: kw, ExecutionStatus: kw,
	StartTime: dt, ExecutionTime: dt, CloseTime: dt,
	HistoryLength: intT, HistorySizeBytes: intT, ExecutionDuration: intT, StateTransitionCount: intT,
	ParentWorkflowID: kw, ParentRunID: kw, RootWorkflowID: kw, RootRunID: kw,
}

// predefinedAttrs are set by the server (or, for the user-settable ones, by
// SDKs) inside the record's SearchAttributes map, and can be queried.
var predefinedAttrs = map[string]enumspb.IndexedValueType{
	"TemporalChangeVersion": kwList, "BinaryChecksums": kwList, "BuildIds": kwList,
	"BatcherNamespace": kw, "BatcherUser": kw,
	"TemporalScheduledStartTime": dt, "TemporalScheduledById": kw, "TemporalSchedulePaused": boolT,
	NamespaceDivision: kw, "TemporalPauseInfo": kwList, "TemporalReportedProblems": kwList,
	"TemporalWorkerDeploymentVersion": kw, "TemporalWorkflowVersioningBehavior": kw,
	"TemporalWorkerDeployment": kw, "TemporalUsedWorkerDeploymentVersions": kwList,
	"TemporalExternalPayloadCount": intT, "TemporalExternalPayloadSizeBytes": intT,
}

// userSettable are the predefined attributes Temporal lets clients write;
// the rest are maintained by the server alone.
var userSettable = map[string]bool{
	"TemporalChangeVersion": true, "BinaryChecksums": true, "BuildIds": true,
	"BatcherNamespace": true, "BatcherUser": true, "TemporalScheduledStartTime": true,
	"TemporalScheduledById": true, "TemporalSchedulePaused": true, NamespaceDivision: true,
	"TemporalPauseInfo": true, "TemporalReportedProblems": true,
}

// reservedNames are record fields that can never be search attribute names.
var reservedNames = map[string]bool{"NamespaceId": true, "Memo": true, "MemoEncoding": true, "VisibilityTaskKey": true}

// SystemSearchAttributes returns the system attributes and their types,
// as DescribeNamespace/ListSearchAttributes report them.
func SystemSearchAttributes() map[string]enumspb.IndexedValueType { return maps.Clone(systemAttrs) }

// PredefinedSearchAttributes returns the Temporal-owned attributes kept in
// the SearchAttributes map (TemporalChangeVersion, BuildIds, ...).
func PredefinedSearchAttributes() map[string]enumspb.IndexedValueType {
	return maps.Clone(predefinedAttrs)
}

// DefaultCustomSearchAttributes returns the custom attributes the Temporal
// dev server registers out of the box; samples and tests rely on them. A
// fresh map is returned so callers may add to it.
func DefaultCustomSearchAttributes() map[string]enumspb.IndexedValueType {
	return map[string]enumspb.IndexedValueType{
		"CustomKeywordField":  kw,
		"CustomStringField":   text,
		"CustomTextField":     text,
		"CustomIntField":      intT,
		"CustomDoubleField":   dbl,
		"CustomBoolField":     boolT,
		"CustomDatetimeField": dt,
	}
}

// IsReservedName reports whether name cannot be registered as a custom
// search attribute: system and predefined names, internal record fields,
// and anything starting with "Temporal".
func IsReservedName(name string) bool {
	_, sys := systemAttrs[name]
	_, pre := predefinedAttrs[name]
	return sys || pre || reservedNames[name] || strings.HasPrefix(name, reservedPrefix)
}

// attribute is a search attribute resolved while parsing. typ is
// UNSPECIFIED for a name the schema does not know, which only a schema
// with DeferErrors lets through.
type attribute struct {
	name  string // as spelled in the query, for messages
	field string // canonical name used to read the record
	typ   enumspb.IndexedValueType
}

// resolve maps a name from a query to an attribute using Temporal's order:
// custom attributes first (unless the name is system or predefined), then
// system and predefined ones, then the ScheduleId alias, then the name with
// the "Temporal" prefix added or removed.
func resolve(name string, custom map[string]enumspb.IndexedValueType) (field string, typ enumspb.IndexedValueType, ok bool) {
	known := func(n string) (enumspb.IndexedValueType, bool) {
		if t, ok := systemAttrs[n]; ok {
			return t, true
		}
		t, ok := predefinedAttrs[n]
		return t, ok
	}
	if _, builtin := known(name); !builtin {
		if t, ok := custom[name]; ok {
			return name, t, true
		}
	}
	if t, ok := known(name); ok {
		return name, t, true
	}
	if strings.TrimPrefix(name, reservedPrefix) == ScheduleID {
		return WorkflowID, kw, true
	}
	alt := reservedPrefix + name
	if strings.HasPrefix(name, reservedPrefix) {
		alt = name[len(reservedPrefix):]
	}
	t, ok := known(alt)
	return alt, t, ok
}
