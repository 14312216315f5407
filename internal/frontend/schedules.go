package frontend

import (
	"context"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	schedulepb "go.temporal.io/api/schedule/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundial-io/sundial/internal/engine"
	"github.com/sundial-io/sundial/internal/schedule"
)

// WithSchedules is the WorkflowService with the schedule RPCs answered by
// sc; the other RPCs are s's.
func WithSchedules(s *Service, sc *schedule.Scheduler) *ScheduleService {
	return &ScheduleService{Service: s, sched: sc}
}

// ScheduleService adds the schedule RPCs to Service.
type ScheduleService struct {
	*Service
	sched *schedule.Scheduler
}

// appendedTimestamp has the length of what a schedule appends to its
// action's workflow id.
const appendedTimestamp = "-2009-11-10T23:00:00Z"

// validateSchedule checks what Temporal's frontend checks of a schedule
// before it reaches the scheduler (the spec is checked there).
func (s *ScheduleService) validateSchedule(ns string, sch *schedulepb.Schedule) error {
	if sch == nil {
		return invalid("Schedule is not set on request.")
	}
	nw := sch.GetAction().GetStartWorkflow()
	if nw == nil {
		return invalid("Schedule.Action.StartWorkflow is not set on request.")
	}
	p := &engine.StartParams{
		Namespace: ns, WorkflowID: nw.WorkflowId, WorkflowType: nw.WorkflowType, TaskQueue: nw.TaskQueue.GetName(),
		Input: nw.Input, ExecTimeout: nw.WorkflowExecutionTimeout.AsDuration(), RunTimeout: nw.WorkflowRunTimeout.AsDuration(),
		TaskTimeout: nw.WorkflowTaskTimeout.AsDuration(), RetryPolicy: nw.RetryPolicy, Memo: nw.Memo, Search: nw.SearchAttributes,
	}
	if err := validateStart(p); err != nil {
		return err
	}
	// The started workflows' ids get the nominal time appended; as
	// Temporal, check the id with a timestamp appended.
	if !sch.GetPolicies().GetKeepOriginalWorkflowId() {
		if err := checkID("WorkflowId", nw.WorkflowId+appendedTimestamp); err != nil {
			return err
		}
	}
	if err := s.validateSearchIn(ns, nw.SearchAttributes); err != nil {
		return err
	}
	if pol := sch.GetPolicies().GetOverlapPolicy(); pol < enumspb.SCHEDULE_OVERLAP_POLICY_UNSPECIFIED || pol > enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL {
		return invalid("Invalid Schedule.Policies.OverlapPolicy: %d.", pol)
	}
	if cw := sch.GetPolicies().GetCatchupWindow(); cw != nil && cw.AsDuration() < 0 {
		return invalid("Invalid Schedule.Policies.CatchupWindow: must not be negative.")
	}
	if st := sch.GetState(); st.GetLimitedActions() && st.GetRemainingActions() < 0 {
		return invalid("Invalid Schedule.State.RemainingActions: must not be negative.")
	}
	return nil
}

func (s *ScheduleService) CreateSchedule(ctx context.Context, r *workflowservice.CreateScheduleRequest) (*workflowservice.CreateScheduleResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if err := checkID("ScheduleId", r.ScheduleId); err != nil {
		return nil, err
	}
	if err := s.validateSchedule(r.Namespace, r.Schedule); err != nil {
		return nil, err
	}
	if err := s.validateSearchIn(r.Namespace, r.SearchAttributes); err != nil {
		return nil, err
	}
	if err := validatePatch(r.InitialPatch); err != nil {
		return nil, err
	}
	return s.sched.Create(ctx, r)
}

func (s *ScheduleService) DescribeSchedule(ctx context.Context, r *workflowservice.DescribeScheduleRequest) (*workflowservice.DescribeScheduleResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if err := checkID("ScheduleId", r.ScheduleId); err != nil {
		return nil, err
	}
	return s.sched.Describe(ctx, r.Namespace, r.ScheduleId)
}

func (s *ScheduleService) UpdateSchedule(ctx context.Context, r *workflowservice.UpdateScheduleRequest) (*workflowservice.UpdateScheduleResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if err := checkID("ScheduleId", r.ScheduleId); err != nil {
		return nil, err
	}
	if err := s.validateSchedule(r.Namespace, r.Schedule); err != nil {
		return nil, err
	}
	if err := s.validateSearchIn(r.Namespace, r.SearchAttributes); err != nil {
		return nil, err
	}
	if err := s.sched.Update(ctx, r); err != nil {
		return nil, err
	}
	return &workflowservice.UpdateScheduleResponse{}, nil
}

func validatePatch(p *schedulepb.SchedulePatch) error {
	for i, bf := range p.GetBackfillRequest() {
		if bf.StartTime == nil || bf.EndTime == nil {
			return invalid("BackfillRequest[%d]: StartTime and EndTime must be set.", i)
		}
		if bf.EndTime.AsTime().Before(bf.StartTime.AsTime()) {
			return invalid("BackfillRequest[%d]: EndTime is before StartTime.", i)
		}
	}
	return nil
}

func (s *ScheduleService) PatchSchedule(ctx context.Context, r *workflowservice.PatchScheduleRequest) (*workflowservice.PatchScheduleResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if err := checkID("ScheduleId", r.ScheduleId); err != nil {
		return nil, err
	}
	if r.Patch == nil {
		return nil, invalid("Patch is not set on request.")
	}
	if err := validatePatch(r.Patch); err != nil {
		return nil, err
	}
	if err := s.sched.Patch(ctx, r); err != nil {
		return nil, err
	}
	return &workflowservice.PatchScheduleResponse{}, nil
}

func (s *ScheduleService) DeleteSchedule(ctx context.Context, r *workflowservice.DeleteScheduleRequest) (*workflowservice.DeleteScheduleResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if err := checkID("ScheduleId", r.ScheduleId); err != nil {
		return nil, err
	}
	if err := s.sched.Delete(ctx, r.Namespace, r.ScheduleId); err != nil {
		return nil, err
	}
	return &workflowservice.DeleteScheduleResponse{}, nil
}

// scheduleMatcher parses a ListSchedules/CountSchedules query with the
// namespace's search attributes; an empty query matches every schedule.
func (s *ScheduleService) scheduleMatcher(ctx context.Context, ns, query string) (schedule.Matcher, error) {
	if query == "" {
		return nil, nil
	}
	q, err := s.parse(ctx, ns, scheduleIDAsWorkflowID(query))
	if err != nil {
		return nil, err
	}
	if q.GroupBy() != "" {
		return nil, invalid("GROUP BY is not supported for schedules.")
	}
	return q.Match, nil
}

func (s *ScheduleService) ListSchedules(ctx context.Context, r *workflowservice.ListSchedulesRequest) (*workflowservice.ListSchedulesResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	m, err := s.scheduleMatcher(ctx, r.Namespace, r.Query)
	if err != nil {
		return nil, err
	}
	return s.sched.List(ctx, r.Namespace, int(r.MaximumPageSize), r.NextPageToken, m)
}

func (s *ScheduleService) CountSchedules(ctx context.Context, r *workflowservice.CountSchedulesRequest) (*workflowservice.CountSchedulesResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	m, err := s.scheduleMatcher(ctx, r.Namespace, r.Query)
	if err != nil {
		return nil, err
	}
	n, err := s.sched.Count(ctx, r.Namespace, m)
	if err != nil {
		return nil, err
	}
	return &workflowservice.CountSchedulesResponse{Count: n}, nil
}

func (s *ScheduleService) ListScheduleMatchingTimes(ctx context.Context, r *workflowservice.ListScheduleMatchingTimesRequest) (*workflowservice.ListScheduleMatchingTimesResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if err := checkID("ScheduleId", r.ScheduleId); err != nil {
		return nil, err
	}
	if r.StartTime == nil || r.EndTime == nil {
		return nil, invalid("StartTime and EndTime must be set.")
	}
	return s.sched.MatchingTimes(ctx, r)
}

// scheduleIDAsWorkflowID lets schedule queries name ScheduleId, as
// Temporal's do: a schedule is listed as an execution whose WorkflowId is
// the schedule id, so the identifier is renamed outside quoted strings.
func scheduleIDAsWorkflowID(query string) string {
	const name = "ScheduleId"
	var b strings.Builder
	var quote byte
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '`' && strings.HasPrefix(query[i:], "`"+name+"`"):
			b.WriteString("`WorkflowId`") // a quoted identifier
			i += len(name) + 1
			continue
		case c == '\'' || c == '"' || c == '`':
			quote = c
		case strings.HasPrefix(query[i:], name) && (i == 0 || !isIdentByte(query[i-1])) &&
			(i+len(name) == len(query) || !isIdentByte(query[i+len(name)])):
			b.WriteString("WorkflowId")
			i += len(name) - 1
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
