package forward

// SchedulerWorkflowIDPrefix is the prefix of the workflow id Temporal
// gives the workflow that runs a schedule ("temporal-sys-scheduler:" and
// the schedule id). Sundial runs schedules without a workflow, but keys
// a schedule's shard by this id: the shard is then the one Temporal's
// schedule would live in, and it cannot be confused with the shard of a
// user workflow whose id equals the schedule id.
const SchedulerWorkflowIDPrefix = "temporal-sys-scheduler:"

// ScheduleKey is the shard key (with the namespace) of a schedule: the
// node holding that shard holds and fires the schedule.
func ScheduleKey(scheduleID string) string { return SchedulerWorkflowIDPrefix + scheduleID }

// ScheduleRouteOf returns the schedule a request is addressed to: Create,
// Describe, Update, Patch, Delete and ListScheduleMatchingTimes carry a
// schedule id and go to its shard's owner. List and Count carry none:
// every node answers them from the store.
func ScheduleRouteOf(req any) (ns, scheduleID string, ok bool) {
	r, isSched := req.(interface {
		GetNamespace() string
		GetScheduleId() string
	})
	if !isSched {
		return "", "", false
	}
	ns, scheduleID = r.GetNamespace(), r.GetScheduleId()
	return ns, scheduleID, ns != "" && scheduleID != ""
}
