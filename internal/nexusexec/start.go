package nexusexec

import (
	"fmt"
	"slices"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Limits of a start request, Temporal's defaults
// (nexusoperation.limit.*, limit.maxIDLength).
const (
	MaxIDLength          = 1000
	MaxNameLength        = 1000
	MaxHeaderBytes       = 8192
	maxLinks             = 10
	maxLinkSize          = 4000
	maxSummaryBytes      = 400
	maxDetailsBytes      = 20000
	MaxOperationTokenLen = 4096
)

// disallowedHeaders are the Nexus header keys a caller may not set
// (Temporal's nexusoperation.disallowedHeaders default: the request
// timeout the server sets itself, and its internal routing and caller
// headers).
var disallowedHeaders = []string{"request-timeout", "xdc-redirection", "xdc-redirection-api", "xdc-redirection-source-cell",
	"caller-name", "caller-type", "call-initiation", "temporal-principal-type", "temporal-principal-name"}

func invalid(format string, args ...any) error {
	return serviceerror.NewInvalidArgument(fmt.Sprintf(format, args...))
}

// CheckIDLength checks a field against the id length limit.
func CheckIDLength(field, v string) error {
	if len(v) > MaxIDLength {
		return invalid("%s exceeds length limit. Length=%d Limit=%d", field, len(v), MaxIDLength)
	}
	return nil
}

// CheckOperationID checks the operation id every request names.
func CheckOperationID(id string) error {
	if id == "" {
		return invalid("operation_id is required")
	}
	return CheckIDLength("operation_id", id)
}

// Normalize validates a start request and returns a copy with Temporal's
// defaults: the schedule-to-start and start-to-close timeouts are capped
// by the schedule-to-close timeout, header keys lower-cased, the id
// policies defaulted (ALLOW_DUPLICATE, FAIL). Errors are InvalidArgument
// naming the field as Temporal does. The request id is left as given (the
// caller fills an empty one).
func Normalize(in *workflowservice.StartNexusOperationExecutionRequest) (*workflowservice.StartNexusOperationExecutionRequest, error) {
	req := proto.Clone(in).(*workflowservice.StartNexusOperationExecutionRequest)
	if err := CheckIDLength("request_id", req.RequestId); err != nil {
		return nil, err
	}
	if err := CheckOperationID(req.OperationId); err != nil {
		return nil, err
	}
	if err := CheckIDLength("identity", req.Identity); err != nil {
		return nil, err
	}
	switch {
	case req.Endpoint == "":
		return nil, invalid("endpoint is required")
	case req.Service == "":
		return nil, invalid("service is required")
	case len(req.Service) > MaxNameLength:
		return nil, invalid("service exceeds length limit. Length=%d Limit=%d", len(req.Service), MaxNameLength)
	case req.Operation == "":
		return nil, invalid("operation is required")
	case len(req.Operation) > MaxNameLength:
		return nil, invalid("operation exceeds length limit. Length=%d Limit=%d", len(req.Operation), MaxNameLength)
	}
	for _, f := range []struct {
		name string
		d    *durationpb.Duration
	}{
		{"schedule_to_close_timeout", req.ScheduleToCloseTimeout},
		{"schedule_to_start_timeout", req.ScheduleToStartTimeout},
		{"start_to_close_timeout", req.StartToCloseTimeout},
	} {
		if f.d == nil {
			continue
		}
		if err := f.d.CheckValid(); err != nil {
			return nil, invalid("%s is invalid: %v", f.name, err)
		}
		if f.d.AsDuration() < 0 {
			return nil, invalid("%s is invalid: negative duration", f.name)
		}
	}
	if s2c := req.ScheduleToCloseTimeout.AsDuration(); s2c > 0 {
		if req.ScheduleToStartTimeout.AsDuration() > s2c {
			req.ScheduleToStartTimeout = durationpb.New(s2c)
		}
		if req.StartToCloseTimeout.AsDuration() > s2c {
			req.StartToCloseTimeout = durationpb.New(s2c)
		}
	}
	if n := req.UserMetadata.GetSummary().Size(); n > maxSummaryBytes {
		return nil, invalid("user_metadata.summary exceeds size limit. Length=%d Limit=%d", n, maxSummaryBytes)
	}
	if n := req.UserMetadata.GetDetails().Size(); n > maxDetailsBytes {
		return nil, invalid("user_metadata.details exceeds size limit. Length=%d Limit=%d", n, maxDetailsBytes)
	}
	if len(req.NexusHeader) > 0 {
		lowered := make(map[string]string, len(req.NexusHeader))
		size := 0
		for k, v := range req.NexusHeader {
			lk := strings.ToLower(k)
			if slices.Contains(disallowedHeaders, lk) {
				return nil, invalid("nexus_header contains a disallowed key: %q", k)
			}
			size += len(lk) + len(v)
			lowered[lk] = v
		}
		if size > MaxHeaderBytes {
			return nil, invalid("nexus_header exceeds size limit")
		}
		req.NexusHeader = lowered
	}
	switch req.IdReusePolicy {
	case enumspb.NEXUS_OPERATION_ID_REUSE_POLICY_UNSPECIFIED:
		req.IdReusePolicy = enumspb.NEXUS_OPERATION_ID_REUSE_POLICY_ALLOW_DUPLICATE
	case enumspb.NEXUS_OPERATION_ID_REUSE_POLICY_ALLOW_DUPLICATE, enumspb.NEXUS_OPERATION_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		enumspb.NEXUS_OPERATION_ID_REUSE_POLICY_REJECT_DUPLICATE:
	default:
		return nil, invalid("id_reuse_policy is invalid: %v", req.IdReusePolicy)
	}
	switch req.IdConflictPolicy {
	case enumspb.NEXUS_OPERATION_ID_CONFLICT_POLICY_UNSPECIFIED:
		req.IdConflictPolicy = enumspb.NEXUS_OPERATION_ID_CONFLICT_POLICY_FAIL
	case enumspb.NEXUS_OPERATION_ID_CONFLICT_POLICY_FAIL, enumspb.NEXUS_OPERATION_ID_CONFLICT_POLICY_USE_EXISTING:
	default:
		return nil, invalid("id_conflict_policy is invalid: %v", req.IdConflictPolicy)
	}
	// Temporal's server accepts completion callbacks on a standalone
	// operation but never calls them; refusing them says so.
	if len(req.CompletionCallbacks) > 0 || req.OnConflictOptions.GetAttachCompletionCallbacks() {
		return nil, invalid("completion_callbacks are not supported by Sundial for standalone Nexus operations")
	}
	if err := checkLinks(req.Links); err != nil {
		return nil, err
	}
	return req, nil
}

func checkLinks(links []*commonpb.Link) error {
	if len(links) > maxLinks {
		return invalid("links: cannot attach more than %d links (got %d)", maxLinks, len(links))
	}
	for i, l := range links {
		if n := proto.Size(l); n > maxLinkSize {
			return invalid("links[%d]: link exceeds the size limit (%d > %d bytes)", i, n, maxLinkSize)
		}
		if l.GetVariant() == nil {
			return invalid("links[%d]: link has no variant", i)
		}
	}
	return nil
}

// StartChoice is what a start request does, given the newest operation of
// its operation id.
type StartChoice int

const (
	// StartNew starts a new operation.
	StartNew StartChoice = iota
	// Deduplicated: the request was already applied (its request id is
	// the operation's); the answer is that operation, not started anew.
	Deduplicated
	// UseExisting: the running operation is the answer
	// (NEXUS_OPERATION_ID_CONFLICT_POLICY_USE_EXISTING).
	UseExisting
)

// ResolveStart applies Temporal's request-id deduplication and the
// request's id conflict policy (cur running) or id reuse policy (cur
// closed). cur is nil when the operation id was never used (or its
// operations were deleted). req must be normalized.
func ResolveStart(cur *Operation, req *workflowservice.StartNexusOperationExecutionRequest) (StartChoice, error) {
	if cur == nil {
		return StartNew, nil
	}
	if cur.HasStartRequest(req.RequestId) {
		return Deduplicated, nil
	}
	already := func(msg string) error {
		return serviceerror.NewNexusOperationExecutionAlreadyStartedf(cur.Start.GetRequestId(), cur.RunID,
			"nexus operation execution already started: %s (operation_id=%s, run_id=%s)", msg, cur.OperationID, cur.RunID)
	}
	if cur.Running() {
		if req.IdConflictPolicy == enumspb.NEXUS_OPERATION_ID_CONFLICT_POLICY_USE_EXISTING {
			return UseExisting, nil
		}
		return 0, already("an operation with this id is running")
	}
	switch req.IdReusePolicy {
	case enumspb.NEXUS_OPERATION_ID_REUSE_POLICY_REJECT_DUPLICATE:
		return 0, already("the id reuse policy rejects duplicates")
	case enumspb.NEXUS_OPERATION_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY:
		if cur.Status == enumspb.NEXUS_OPERATION_EXECUTION_STATUS_COMPLETED {
			return 0, already("the last operation with this id completed successfully")
		}
	}
	return StartNew, nil
}

// HasStartRequest reports whether a start with request id id made (or
// attached to) this operation.
func (o *Operation) HasStartRequest(id string) bool {
	return id != "" && (o.Start.GetRequestId() == id || slices.Contains(o.AttachedRequestIDs, id))
}

// AttachOnConflict applies a USE_EXISTING start's on_conflict_options to
// the running operation: its request id (so a retry is deduplicated) and
// its links. It reports whether anything changed.
func (o *Operation) AttachOnConflict(req *workflowservice.StartNexusOperationExecutionRequest) bool {
	oc := req.OnConflictOptions
	if oc == nil || !o.Running() {
		return false
	}
	changed := false
	if oc.AttachRequestId && req.RequestId != "" && !o.HasStartRequest(req.RequestId) {
		o.AttachedRequestIDs = append(o.AttachedRequestIDs, req.RequestId)
		changed = true
	}
	if oc.AttachLinks && len(req.Links) > 0 {
		o.Links = append(o.Links, req.Links...)
		changed = true
	}
	if changed {
		o.Transitions++
	}
	return changed
}
