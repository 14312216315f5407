"""Execution details and history that must match Temporal 1.31 (Python SDK)."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, TimeoutError, TimeoutType

from helpers import event_names, events, new_worker, of_type, result, within


@workflow.defn
class ZeroSleepWorkflow:
    @workflow.run
    async def run(self) -> str:
        await workflow.sleep(0)
        return "slept"


async def test_zero_length_timer(client, tq, wid):
    # workflow.sleep(0) sends a StartTimer with a 0s timeout; Temporal
    # accepts it and fires it at once (Sundial used to refuse it, so the
    # worker retried the task forever and the workflow hung).
    async with new_worker(client, tq, [ZeroSleepWorkflow]):
        handle = await client.start_workflow(ZeroSleepWorkflow.run, id=wid(), task_queue=tq)
        assert await result(handle) == "slept"
    evs = await events(handle)
    names = [n for n in await event_names(handle)]
    assert "WorkflowTaskFailed" not in names
    started = of_type(evs, "TimerStarted")
    assert len(started) == 1
    assert started[0].timer_started_event_attributes.start_to_fire_timeout.ToTimedelta() == timedelta(0)
    assert len(of_type(evs, "TimerFired")) == 1


@workflow.defn
class NeverStartedActivityWorkflow:
    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.execute_activity(
                "nobody_runs_this", schedule_to_close_timeout=timedelta(seconds=2),
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
        except ActivityError as err:
            assert isinstance(err.cause, TimeoutError)
            return err.cause.type.name
        return "completed"


async def test_never_started_activity_times_out_schedule_to_start(client, tq, wid):
    # Temporal derives schedule-to-start from schedule-to-close; when both
    # pass at once schedule-to-start is reported.
    async with new_worker(client, tq, [NeverStartedActivityWorkflow]):
        handle = await client.start_workflow(NeverStartedActivityWorkflow.run, id=wid(), task_queue=tq)
        assert await result(handle) == TimeoutType.SCHEDULE_TO_START.name
    timed_out = of_type(await events(handle), "ActivityTaskTimedOut")[0].activity_task_timed_out_event_attributes
    assert timed_out.failure.message == "activity ScheduleToStart timeout"


@workflow.defn
class QuickWorkflow:
    @workflow.run
    async def run(self) -> str:
        return "ok"


async def test_started_event_and_describe(client, tq, wid):
    # Unset timeouts are absent from WorkflowExecutionStarted (Python sends
    # none), firstWorkflowTaskBackoff is 0s, the static summary and details
    # given at start are kept and described, and a top-level run is its own
    # root.
    async with new_worker(client, tq, [QuickWorkflow]):
        handle = await client.start_workflow(
            QuickWorkflow.run, id=wid(), task_queue=tq,
            static_summary="the summary", static_details="the details",
        )
        assert await result(handle) == "ok"
    first = (await events(handle))[0]
    attrs = first.workflow_execution_started_event_attributes
    assert not attrs.HasField("workflow_execution_timeout")
    assert not attrs.HasField("workflow_run_timeout")
    assert attrs.workflow_task_timeout.ToTimedelta() == timedelta(seconds=10)
    assert attrs.HasField("first_workflow_task_backoff")
    assert attrs.first_workflow_task_backoff.ToTimedelta() == timedelta(0)
    assert attrs.original_execution_run_id == handle.result_run_id
    desc = await within(handle.describe())
    assert await desc.static_summary() == "the summary"
    assert await desc.static_details() == "the details"
    root = desc.raw_description.workflow_execution_info.root_execution
    assert (root.workflow_id, root.run_id) == (handle.id, handle.result_run_id)
    assert desc.raw_description.workflow_extended_info.original_start_time.ToDatetime() == first.event_time.ToDatetime()


async def test_cancel_closed_workflow_succeeds(client, tq, wid):
    async with new_worker(client, tq, [QuickWorkflow]):
        handle = await client.start_workflow(QuickWorkflow.run, id=wid(), task_queue=tq)
        assert await result(handle) == "ok"
    before = len(await events(handle))
    await within(handle.cancel())  # as in Temporal: no error, nothing recorded
    assert len(await events(handle)) == before
