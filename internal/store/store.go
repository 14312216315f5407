// Package store defines the durable storage interface behind Sundial.
//
// The store is the log of record. The engine keeps hot workflow state in
// memory and writes every change through Apply; each workflow run is stored
// as its append-only history plus one small RunRecord that holds what the
// history cannot: status, attempt counters of running activities, buffered
// events and the start request id. Everything else about a run (timers,
// pending activities, children, the workflow task) is rebuilt by replaying
// its history through the pure state machine in package execution.
//
// Implementations live in sub-packages (pebblestore, ...) and must all pass
// the shared suite in package storetest.
package store

import (
	"context"
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// ErrNotFound is returned when a namespace, workflow or run does not exist.
var ErrNotFound = errors.New("store: not found")

// Store is the durable storage used by the engine. All methods are safe for
// concurrent use.
type Store interface {
	// Apply writes b atomically. Batches become visible to reads and durable
	// in the order Apply was called, so a caller may call Apply while holding
	// a lock (Apply itself does not wait for the disk) and then call
	// Commit.Wait after releasing it. A request must not be acknowledged
	// before Wait returns nil.
	Apply(b *Batch) (Commit, error)

	// Namespaces returns every registered namespace.
	Namespaces(ctx context.Context) ([]*Namespace, error)

	// CurrentRun returns the run id of the newest run of a workflow id
	// (open or closed), or ErrNotFound.
	CurrentRun(ctx context.Context, namespace, workflowID string) (string, error)

	// Run returns the record of one run, or ErrNotFound.
	Run(ctx context.Context, namespace, runID string) (*RunRecord, error)

	// History returns up to limit events of a run with event id >=
	// fromEventID, in order (limit <= 0 means all).
	History(ctx context.Context, namespace, runID string, fromEventID int64, limit int) ([]*historypb.HistoryEvent, error)

	// OpenRuns calls fn for every open run (status RUNNING or PAUSED, see
	// Open), in any order.
	OpenRuns(ctx context.Context, fn func(*RunRecord) error) error

	// Runs calls fn for every run of a namespace, newest start time first
	// where the implementation can, open and closed.
	Runs(ctx context.Context, namespace string, fn func(*RunRecord) error) error

	// SearchAttributes returns the custom search attribute registry of a
	// namespace, or ErrNotFound if none was ever written (callers then use
	// the dev-server defaults).
	SearchAttributes(ctx context.Context, namespace string) (map[string]enumspb.IndexedValueType, error)

	// ListRuns calls fn with the summaries of a namespace's runs in
	// Temporal's default visibility order (open runs first, newest start
	// first; then closed runs, newest close first, then newest start; run
	// id breaks ties) from an index, so the first page costs the same
	// however many runs the namespace holds. cursor identifies the entry:
	// passing it back as opts.After resumes just after it, even if runs were
	// started, closed or deleted in between. fn may return ErrStop.
	ListRuns(ctx context.Context, namespace string, opts ListOptions, fn func(cursor []byte, info *workflowpb.WorkflowExecutionInfo) error) error

	// CountRuns returns how many runs of a namespace have the status and
	// match by, without reading their records.
	CountRuns(ctx context.Context, namespace string, by CountBy, status enumspb.WorkflowExecutionStatus) (int64, error)

	// ClosedBefore calls fn for the closed runs of a namespace whose close
	// time is before t, oldest first (for retention). fn may return
	// ErrStop.
	ClosedBefore(ctx context.Context, namespace string, t time.Time, fn func(*RunRecord) error) error

	// Schedules calls fn for every stored schedule of a namespace ("" for
	// every namespace), ordered by namespace and then schedule id. fn may
	// return ErrStop.
	Schedules(ctx context.Context, namespace string, fn func(*ScheduleRecord) error) error

	// BatchJobs calls fn for every stored batch operation job of a
	// namespace ("" for every namespace), ordered by namespace and then job
	// id. fn may return ErrStop.
	BatchJobs(ctx context.Context, namespace string, fn func(*BatchJobRecord) error) error

	// NexusEndpoints calls fn for every stored Nexus endpoint, in id order.
	NexusEndpoints(ctx context.Context, fn func(*NexusEndpointRecord) error) error

	// Records calls fn for every stored KeyedRecord of a kind, in key
	// order. fn may return ErrStop.
	Records(ctx context.Context, kind string, fn func(*KeyedRecord) error) error

	// ActivityExecutions calls fn for every stored standalone activity
	// execution of a namespace ("" for every namespace), ordered by
	// namespace, activity id and run id. fn may return ErrStop.
	ActivityExecutions(ctx context.Context, namespace string, fn func(*ActivityExecutionRecord) error) error

	// WorkerDeployments calls fn for every stored worker deployment,
	// ordered by namespace and then name.
	WorkerDeployments(ctx context.Context, fn func(*WorkerDeploymentRecord) error) error

	// Due calls fn for the due index entries with from <= Time < before,
	// oldest first (order among equal times unspecified): one entry per run
	// whose stored record has a non-zero Due. A zero from means from the
	// beginning. fn may return ErrStop (Due then returns nil). Entries
	// written after the call began may or may not be seen. The engine
	// reads it at startup instead of every open run, and to arm the timers
	// of the near future (see docs/STORE.md).
	Due(ctx context.Context, from, before time.Time, fn func(DueEntry) error) error

	// Close flushes and releases the store. Apply must not be called after.
	Close() error
}

// DueEntry is one entry of the due index: a run that needs the engine's
// attention at Time.
type DueEntry struct {
	// Time is the run's Due, in UTC; a store may truncate it to
	// microseconds.
	Time       time.Time
	Namespace  string
	WorkflowID string
	RunID      string
}

// ErrStop may be returned by a ListRuns or ClosedBefore callback to end the
// iteration early; the method then returns nil.
var ErrStop = errors.New("store: stop iteration")

// CountBy narrows CountRuns to the runs with one value of an indexed
// field; the zero value counts every run.
type CountBy struct {
	Field CountField
	Value string
}

// CountField is a run attribute the stores index for counting: one that
// is fixed for the life of a run and that dashboards count by.
type CountField uint8

const (
	CountAll CountField = iota
	CountWorkflowType
	CountTaskQueue
)

// ByType and ByTaskQueue build the common CountBy values.
func ByType(name string) CountBy      { return CountBy{Field: CountWorkflowType, Value: name} }
func ByTaskQueue(name string) CountBy { return CountBy{Field: CountTaskQueue, Value: name} }

// ListOptions narrows ListRuns.
type ListOptions struct {
	// OpenOnly and ClosedOnly restrict the listing to one partition of the
	// index (ListOpenWorkflowExecutions, ListClosedWorkflowExecutions, or a
	// query that fixes ExecutionStatus). Both false lists both.
	OpenOnly, ClosedOnly bool
	// After is a cursor from an earlier call; listing resumes after it.
	After []byte
	// Fields, if not nil, are the only WorkflowExecutionInfo fields (by
	// number) the caller reads; a store may decode just those from each
	// summary (see DecodeInfo). With Match set they are what Match sees.
	Fields []protoreflect.FieldNumber
	// Match, if set, is called with each summary (possibly decoded only in
	// Fields); entries it rejects are skipped, and fn gets the others in
	// full. Without Match, fn gets what Fields asked for.
	Match func(*workflowpb.WorkflowExecutionInfo) bool
}

// CountLater is implemented by stores whose CountRuns reads every
// matching index entry: CountRunsLater fixes the count's point in time
// when it is called and returns the (slow) counting, to be called exactly
// once, possibly from another goroutine. The engine counts the open runs
// at startup that way without holding up the first request.
type CountLater interface {
	CountRunsLater(ctx context.Context, namespace string, by CountBy, status enumspb.WorkflowExecutionStatus) (func() (int64, error), error)
}

// Writable is implemented by stores that can tell, before anything is
// changed, that a write would fail (a full disk). The engine checks it
// before changing a workflow so that a refused request leaves no trace.
type Writable interface {
	CheckWritable() error
}

// Commit is a batch that has been applied but may not be on disk yet.
type Commit interface {
	// Wait blocks until the batch is durable (fsynced) or failed.
	Wait() error
}

// Batch is one atomic write.
type Batch struct {
	Namespaces []*Namespace // inserted or replaced, by name
	// DeleteNamespaces removes namespace records by name (applied after
	// Namespaces, so one batch can rename a namespace).
	DeleteNamespaces []string
	Runs             []*RunWrite
	// SearchAttributes replace namespaces' custom search attribute
	// registries.
	SearchAttributes []*SearchAttributeRegistry
	// Deletes remove runs entirely (record, history, index entries); they
	// are applied after Runs.
	Deletes []*RunDelete
	// Schedules are inserted or replaced, by namespace and schedule id.
	Schedules []*ScheduleRecord
	// ScheduleDeletes remove schedules; they are applied after Schedules.
	ScheduleDeletes []ScheduleKey
	// BatchJobs are inserted or replaced, by namespace and job id.
	BatchJobs []*BatchJobRecord
	// BatchJobDeletes remove batch jobs; they are applied after BatchJobs.
	BatchJobDeletes []BatchJobKey
	// NexusEndpoints are inserted or replaced, by id.
	NexusEndpoints []*NexusEndpointRecord
	// NexusEndpointDeletes remove Nexus endpoints by id; they are applied
	// after NexusEndpoints.
	NexusEndpointDeletes []string
	// Records are inserted or replaced, by kind and key.
	Records []*KeyedRecord
	// RecordDeletes remove keyed records; they are applied after Records.
	RecordDeletes []RecordKey
	// ActivityExecutions are inserted or replaced, by namespace, activity
	// id and run id.
	ActivityExecutions []*ActivityExecutionRecord
	// ActivityExecutionDeletes remove standalone activity executions; they
	// are applied after ActivityExecutions.
	ActivityExecutionDeletes []ActivityExecutionKey
	// WorkerDeployments are inserted or replaced, by namespace and name.
	WorkerDeployments []*WorkerDeploymentRecord
	// WorkerDeploymentDeletes remove worker deployments; they are applied
	// after WorkerDeployments.
	WorkerDeploymentDeletes []WorkerDeploymentKey
	// Fence, when set, is the shard lease the batch is written under: the
	// store refuses the whole batch with ErrFenced unless the lease still
	// holds (see Fence). Nil: unfenced.
	Fence *Fence
	// ExpectNamespaces, ExpectSearchAttributes and ExpectRecords, when
	// set, make the batch conditional: the store writes it only if every expectation
	// holds at the moment it writes, atomically with the write, and fails
	// it with ErrConflict otherwise (conditional.go). Used for the rare
	// read-modify-write of cluster-wide records; workflow writes carry
	// none.
	ExpectNamespaces       []NamespaceExpect
	ExpectSearchAttributes []SearchAttributesExpect
	ExpectRecords          []RecordExpect
}

// ActivityExecutionKey names one standalone activity execution (one run of
// an activity id).
type ActivityExecutionKey struct {
	Namespace  string
	ActivityID string
	RunID      string
}

// ActivityExecutionRecord is one standalone activity execution
// (StartActivityExecution): its start request and progress, encoded by
// package activityexec, kept by the store as an opaque value under its
// key.
type ActivityExecutionRecord struct {
	ActivityExecutionKey
	State []byte
}

// WorkerDeploymentKey names one worker deployment (worker versioning).
type WorkerDeploymentKey struct {
	Namespace string
	Name      string
}

// WorkerDeploymentRecord is one worker deployment: its versions, routing
// config and manager, encoded by the engine and opaque to the store.
type WorkerDeploymentRecord struct {
	WorkerDeploymentKey
	State []byte
}

// NexusEndpointRecord is one Nexus endpoint (OperatorService
// CreateNexusEndpoint). Endpoints belong to the cluster, not to a
// namespace, so the id alone is the key; the value is the encoded
// endpoint (version, spec, times), opaque to the store.
type NexusEndpointRecord struct {
	ID    string
	State []byte
}

// BatchJobKey names one batch job.
type BatchJobKey struct {
	Namespace string
	JobID     string
}

// BatchJobRecord is one batch operation job (StartBatchOperation): its
// request and progress, encoded by package batch. Like a schedule, the
// store keeps it as an opaque value under its key.
type BatchJobRecord struct {
	Namespace string
	JobID     string
	// State is the job's encoded definition and progress.
	State []byte
}

// ScheduleKey names one schedule.
type ScheduleKey struct {
	Namespace  string
	ScheduleID string
}

// ScheduleRecord is one schedule (CreateSchedule): its definition and the
// scheduler's progress, encoded by package schedule. The store keeps it as
// an opaque value under its key, so a table with three columns holds it.
type ScheduleRecord struct {
	Namespace  string
	ScheduleID string
	// State is the schedule's encoded definition and progress.
	State []byte
}

// SearchAttributeRegistry is the set of custom search attributes of one
// namespace (OperatorService Add/Remove/ListSearchAttributes).
type SearchAttributeRegistry struct {
	Namespace string
	Custom    map[string]enumspb.IndexedValueType
}

// RunDelete removes one run (DeleteWorkflowExecution, retention).
type RunDelete struct {
	// Record is the run's stored record; its times (and Due) locate the
	// index entries to remove.
	Record *RunRecord
	// ClearCurrent also removes the workflow id's current-run pointer; set
	// it only when the run is the current one.
	ClearCurrent bool
}

// RunWrite changes one run.
type RunWrite struct {
	// Record replaces the stored record of the run (required). The run is
	// identified by Record.Namespace and Record.RunID.
	Record *RunRecord
	// Events are appended to the run's history. The first event's id must
	// be one more than the last stored event id (or 1 for a new run).
	Events []*historypb.HistoryEvent
	// SetCurrent makes this run the current run of its workflow id.
	SetCurrent bool
	// OpenIndexed says the run was already stored as running and still is.
	// An open run's index entries depend only on what never changes while
	// it runs (namespace, ids, type, task queue, start time), so a store may skip
	// rewriting them; a closed record ignores the flag.
	OpenIndexed bool
	// PrevDue is the Due of the stored record this write replaces (zero
	// for a new run or one stored without a due). A store that keys its
	// due index by time removes that entry in the same atomic batch,
	// without a read; a store that keeps the due as a column of the run
	// may ignore it.
	PrevDue time.Time
}

// Namespace is a registered namespace; it is stored as the same message
// DescribeNamespace returns.
type Namespace = workflowservice.DescribeNamespaceResponse

// RunRecord is the mutable, non-history part of one workflow run.
type RunRecord struct {
	Namespace  string
	WorkflowID string
	RunID      string
	// Info is the run's summary as DescribeWorkflowExecution and the
	// visibility APIs return it (status, type, times, memo, search
	// attributes, parent, history length, ...).
	Info *workflowpb.WorkflowExecutionInfo
	// StartRequestID is the request id of the request that started the run,
	// used to make StartWorkflowExecution idempotent.
	StartRequestID string
	// Activities holds attempt state of pending activities that history
	// does not record (attempt, started time, heartbeat details, last
	// failure), keyed by ActivityId.
	Activities []*workflowpb.PendingActivityInfo
	// NexusOperations holds attempt state of pending Nexus operations
	// (attempt, last failure, retry time), by scheduled event id.
	NexusOperations []*workflowpb.PendingNexusOperationInfo
	// Buffered holds events that arrived while a workflow task was running;
	// they have no event ids yet and are appended to history when the task
	// ends.
	Buffered []*historypb.HistoryEvent
	// ResetRunID is set on a run that ResetWorkflowExecution reset: the
	// newest run created from it (describe's ResetRunId; a child's close
	// is forwarded along it).
	ResetRunID string
	// ResetRequestID is the request id of the reset that created this run,
	// so a retried reset returns it instead of resetting again.
	ResetRequestID string
	// Due is the run's next attention time: when the engine must look at
	// it without being asked (its next deadline, or, when it has work to
	// redo after a crash, the time of the write). Zero means never. The
	// store keeps one due index entry per run with a non-zero Due,
	// replaced in the same batch as the record (see Store.Due).
	Due time.Time
	// Snapshot is the run's whole mutable state, encoded by package
	// execution (execution.State.Snapshot), written with every change so
	// a run not in memory loads with one read instead of a replay of its
	// history. Empty for runs stored without one (closed runs, runs
	// written before snapshots existed, ...): those load by replay. A
	// store keeps it as part of the record's encoding.
	Snapshot []byte
}
