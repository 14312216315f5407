"""Seed 002: "Core application - Python SDK", run against Sundial."""

import asyncio
import concurrent.futures
import multiprocessing
import os
import uuid
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import RetryState, TimeoutType
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import SharedStateManager

import activity_options_dacx
from helpers import (
    assert_in_order,
    event_name,
    event_names,
    events,
    new_worker,
    of_type,
    result,
    within,
)
from seed_core_app import (
    ATTEMPTS,
    ActivityCall,
    ActivityErrorWorkflow,
    ActivityOptionsWorkflow,
    CustomNamedWorkflow,
    DefaultNamedWorkflow,
    EchoSizeWorkflow,
    MissingTimeoutWorkflow,
    MultiParamScanWorkflow,
    RaisingWorkflow,
    RemoteActivityWorkflow,
    ReturnValueWorkflow,
    ScanInput,
    ScanResult,
    ScanType,
    SandboxedClockWorkflow,
    ScanWorkflow,
    SerializableParamsWorkflow,
    SyncActivitiesWorkflow,
    custom_named_activity,
    default_named_activity,
    failing_activity,
    flaky_activity,
    scan_ec2_activity,
    slow_activity,
    sync_process_activity,
    sync_threaded_activity,
)
from your_activities_dacx import your_activity
from your_dataobject_dacx import YourParams
from your_workflows_dacx import YourWorkflow


def decode(client, payloads, type_hint=None):
    return [client.data_converter.payload_converter.from_payload(p, type_hint) for p in payloads]


# ---------------------------------------------------------------------------
# Basic Workflow + Activity + Worker, exactly as on the page
# ---------------------------------------------------------------------------


async def test_basic_workflow_activity_and_worker(client, tq, wid):
    # "Run a Worker Process": Worker(client, task_queue=..., workflows=[...], activities=[...])
    async with new_worker(client, tq, workflows=[YourWorkflow], activities=[your_activity]):
        handle = await client.start_workflow(YourWorkflow.run, "World", id=wid(), task_queue=tq)
        assert await result(handle) == "Hello, World!"
        # execute_workflow() returns the result directly; by type name too.
        assert await within(client.execute_workflow(
            "YourWorkflow", "Temporal", id=wid("by-name"), task_queue=tq)) == "Hello, Temporal!"

    evs = await events(handle)
    names = [event_name(e) for e in evs]
    started = evs[0].workflow_execution_started_event_attributes
    assert names[0] == "WorkflowExecutionStarted"
    assert started.workflow_type.name == "YourWorkflow"
    assert started.task_queue.name == tq
    assert decode(client, started.input.payloads, str) == ["World"]
    # ScheduleActivityTask -> ActivityTaskScheduled, ActivityTaskStarted, ActivityTaskCompleted
    assert_in_order(names, [
        "WorkflowTaskCompleted", "ActivityTaskScheduled", "ActivityTaskStarted",
        "ActivityTaskCompleted", "WorkflowTaskScheduled", "WorkflowTaskCompleted",
        "WorkflowExecutionCompleted",
    ])
    assert names.count("ActivityTaskScheduled") == 1
    sched = of_type(evs, "ActivityTaskScheduled")[0].activity_task_scheduled_event_attributes
    assert sched.activity_type.name == "your_activity"
    assert sched.start_to_close_timeout.ToTimedelta() == timedelta(seconds=10)
    assert decode(client, sched.input.payloads, YourParams) == [YourParams("Hello", "World")]
    done = of_type(evs, "ActivityTaskCompleted")[0].activity_task_completed_event_attributes
    assert decode(client, done.result.payloads, str) == ["Hello, World!"]
    completed = evs[-1].workflow_execution_completed_event_attributes
    assert decode(client, completed.result.payloads, str) == ["Hello, World!"]
    assert names[-1] == "WorkflowExecutionCompleted"


async def test_custom_and_default_type_names(client, tq, wid):
    async with new_worker(client, tq, [CustomNamedWorkflow, DefaultNamedWorkflow],
                          [default_named_activity, custom_named_activity]):
        assert await within(client.execute_workflow(
            "your-workflow-name", id=wid("custom"), task_queue=tq)) == "your-workflow-name"
        handle = await client.start_workflow(DefaultNamedWorkflow.run, id=wid("default"), task_queue=tq)
        assert await result(handle) == ["DefaultNamedWorkflow", "default_named_activity", "your-activity"]
    evs = await events(handle)
    assert evs[0].workflow_execution_started_event_attributes.workflow_type.name == "DefaultNamedWorkflow"
    assert [e.activity_task_scheduled_event_attributes.activity_type.name
            for e in of_type(evs, "ActivityTaskScheduled")] == ["default_named_activity", "your-activity"]


# ---------------------------------------------------------------------------
# Parameters and return values
# ---------------------------------------------------------------------------


async def test_dataclass_workflow_parameter_and_multiple_activity_args(client, tq, wid):
    async with new_worker(client, tq, [ScanWorkflow, MultiParamScanWorkflow], [scan_ec2_activity]):
        out = await within(client.execute_workflow(
            ScanWorkflow.run, ScanInput(account_id="acct-1", region="eu-west-1", severity="high"),
            id=wid("scan"), task_queue=tq))
        assert out["input"] == {
            "account_id": "acct-1", "region": "eu-west-1", "severity": "high",
            "notify": False, "approval_required": True, "remediation_strategy": None,
        }
        assert out["scanned"] == {"account_id": "acct-1", "region": "eu-west-1", "instances": 3}

        # An older caller that does not know the new fields: defaults fill in.
        old = await within(client.execute_workflow(
            "ScanWorkflow", {"account_id": "acct-2", "region": "us-east-1"},
            id=wid("scan-old"), task_queue=tq))
        assert old["input"]["remediation_strategy"] is None
        assert old["input"]["approval_required"] is True

        # Multiple positional parameters (allowed, if discouraged).
        assert await within(client.execute_workflow(
            MultiParamScanWorkflow.run, args=["acct-3", "ap-south-1"],
            id=wid("multi"), task_queue=tq)) == "acct-3@ap-south-1"


async def test_serializable_parameter_types(client, tq, wid):
    async with new_worker(client, tq, [SerializableParamsWorkflow]):
        out = await within(client.execute_workflow(
            SerializableParamsWorkflow.run,
            args=[{"depth": 2, "tags": ["a"]}, [1, "two", 3.0], ScanType.QUICK, 0.25, True],
            id=wid(), task_queue=tq))
        assert out == [{"depth": 2, "tags": ["a"]}, [1, "two", 3.0], "quick", 0.25, True, True]

    # Not serializable: refused by the client before anything reaches the server.
    bad_id = wid("bad")
    with pytest.raises(TypeError):
        await client.start_workflow(ScanWorkflow.run, lambda: None, id=bad_id, task_queue=tq)
    with pytest.raises(RPCError) as excinfo:
        await client.get_workflow_handle(bad_id).describe()
    assert excinfo.value.status == RPCStatusCode.NOT_FOUND


async def test_workflow_return_value_and_raised_error(client, tq, wid):
    async with new_worker(client, tq, [ReturnValueWorkflow, RaisingWorkflow]):
        out = await within(client.execute_workflow(
            ReturnValueWorkflow.run, ScanInput("acct-1", "eu"), id=wid("ok"), task_queue=tq))
        assert out == ScanResult(account_id="acct-1", findings=["open-port", "old-ami"], score=7.5)

        handle = await client.start_workflow(RaisingWorkflow.run, "acct-9", id=wid("err"), task_queue=tq)
        with pytest.raises(WorkflowFailureError) as excinfo:
            await result(handle)
    cause = excinfo.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.message == "account acct-9 is not allowed"
    assert cause.type == "InvalidAccount"
    assert cause.non_retryable
    assert list(cause.details) == [{"account_id": "acct-9"}]
    names = await event_names(handle)
    assert names[-1] == "WorkflowExecutionFailed"
    assert "WorkflowExecutionCompleted" not in names
    failed = (await events(handle))[-1].workflow_execution_failed_event_attributes
    assert failed.failure.message == "account acct-9 is not allowed"
    assert (await handle.describe()).status == WorkflowExecutionStatus.FAILED


async def test_activity_error_reaches_client(client, tq, wid):
    async with new_worker(client, tq, [ActivityErrorWorkflow], [failing_activity]):
        handle = await client.start_workflow(ActivityErrorWorkflow.run, "disk full", id=wid(), task_queue=tq)
        with pytest.raises(WorkflowFailureError) as excinfo:
            await result(handle)
    act_err = excinfo.value.cause
    assert isinstance(act_err, ActivityError)
    assert act_err.activity_type == "failing_activity"
    assert isinstance(act_err.cause, ApplicationError)
    assert act_err.cause.message == "disk full"
    assert act_err.cause.type == "ActivityBroke"
    evs = await events(handle)
    failed = of_type(evs, "ActivityTaskFailed")
    assert len(failed) == 1
    assert failed[0].activity_task_failed_event_attributes.failure.message == "disk full"
    assert event_name(evs[-1]) == "WorkflowExecutionFailed"


async def test_workflow_sandbox_refuses_system_clock(client, tq, wid):
    async with new_worker(client, tq, [SandboxedClockWorkflow]):
        assert await within(client.execute_workflow(
            SandboxedClockWorkflow.run, id=wid(), task_queue=tq)) == [
            "RestrictedWorkflowAccessError", "datetime"]


# ---------------------------------------------------------------------------
# Activity timeouts
# ---------------------------------------------------------------------------


async def test_page_timeout_and_retry_policy_example(client, tq, wid):
    async with new_worker(client, tq, [activity_options_dacx.YourWorkflow], [your_activity]):
        handle = await client.start_workflow(
            activity_options_dacx.YourWorkflow.run, "Hi", id=wid(), task_queue=tq)
        assert await result(handle) == [
            "Hi, Activity Timeout option!", "Hi, Retry Policy options!"]
    scheduled = [e.activity_task_scheduled_event_attributes
                 for e in of_type(await events(handle), "ActivityTaskScheduled")]
    assert len(scheduled) == 2
    assert all(s.start_to_close_timeout.ToTimedelta() == timedelta(seconds=10) for s in scheduled)
    rp = scheduled[1].retry_policy
    assert rp.backoff_coefficient == 2.0
    assert rp.maximum_attempts == 5
    assert rp.initial_interval.ToTimedelta() == timedelta(seconds=1)
    assert rp.maximum_interval.ToTimedelta() == timedelta(seconds=2)


async def run_call(client, tq, wid, call: ActivityCall, label="wf"):
    handle = await client.start_workflow(ActivityOptionsWorkflow.run, call, id=wid(label), task_queue=tq)
    return handle, await result(handle, 60)


async def test_start_to_close_timeout(client, tq, wid):
    async with new_worker(client, tq, [ActivityOptionsWorkflow], [slow_activity],
                          graceful_shutdown_timeout=timedelta(seconds=0)):
        handle, out = await run_call(client, tq, wid, ActivityCall(
            activity="slow", arg=5.0, start_to_close=1.0, retry="once"))
    assert out["ok"] is False, out
    assert out["cause_class"] == "TimeoutError" and out["timeout_type"] == "START_TO_CLOSE", out
    assert out["elapsed"] < 5.0, out
    evs = await events(handle)
    timed_out = of_type(evs, "ActivityTaskTimedOut")
    assert len(timed_out) == 1
    assert TimeoutType.Name(timed_out[0].activity_task_timed_out_event_attributes.failure.timeout_failure_info.timeout_type) == "TIMEOUT_TYPE_START_TO_CLOSE"


async def test_schedule_to_close_timeout(client, tq, wid):
    async with new_worker(client, tq, [ActivityOptionsWorkflow], [slow_activity],
                          graceful_shutdown_timeout=timedelta(seconds=0)):
        handle, out = await run_call(client, tq, wid, ActivityCall(
            activity="slow", arg=5.0, schedule_to_close=1.0))
    assert out["ok"] is False, out
    assert out["cause_class"] == "TimeoutError" and out["timeout_type"] == "SCHEDULE_TO_CLOSE", out
    assert out["elapsed"] < 5.0, out
    sched = of_type(await events(handle), "ActivityTaskScheduled")[0].activity_task_scheduled_event_attributes
    assert sched.schedule_to_close_timeout.ToTimedelta() == timedelta(seconds=1)
    assert len(of_type(await events(handle), "ActivityTaskTimedOut")) == 1


async def test_schedule_to_start_timeout(client, tq, wid):
    # The activity goes to a task queue nobody polls.
    async with new_worker(client, tq, [ActivityOptionsWorkflow], [slow_activity]):
        handle, out = await run_call(client, tq, wid, ActivityCall(
            activity="slow", arg=0.1, task_queue=f"{tq}-nobody",
            schedule_to_start=1.0, start_to_close=5.0))
    assert out["ok"] is False, out
    assert out["cause_class"] == "TimeoutError" and out["timeout_type"] == "SCHEDULE_TO_START", out
    evs = await events(handle)
    sched = of_type(evs, "ActivityTaskScheduled")[0].activity_task_scheduled_event_attributes
    assert sched.schedule_to_start_timeout.ToTimedelta() == timedelta(seconds=1)
    assert sched.task_queue.name == f"{tq}-nobody"
    assert "ActivityTaskStarted" not in [event_name(e) for e in evs]


async def test_activity_requires_a_close_timeout(client, tq, wid):
    # "The only required value that needs to be set is either a
    # Schedule-To-Close Timeout or a Start-To-Close Timeout."
    async with new_worker(client, tq, [MissingTimeoutWorkflow], [your_activity]):
        out = await within(client.execute_workflow(MissingTimeoutWorkflow.run, id=wid(), task_queue=tq))
    assert out.startswith("ValueError"), out


# ---------------------------------------------------------------------------
# Retry policy (the page's RetryPolicy)
# ---------------------------------------------------------------------------


async def test_retry_policy_retries_until_success(client, tq, wid):
    key = uuid.uuid4().hex
    async with new_worker(client, tq, [ActivityOptionsWorkflow], [flaky_activity]):
        handle, out = await run_call(client, tq, wid, ActivityCall(
            activity="flaky", key=key, fail_times=2, start_to_close=10.0, retry="page"))
    assert out["ok"] is True and out["value"] == 3, out
    assert ATTEMPTS[key] == [1, 2, 3]
    # Backoff: 1s, then 2s (initial_interval 1s, coefficient 2, max 2s).
    assert out["elapsed"] >= 2.9, out
    evs = await events(handle)
    assert len(of_type(evs, "ActivityTaskScheduled")) == 1
    started = of_type(evs, "ActivityTaskStarted")
    assert len(started) == 1 and started[0].activity_task_started_event_attributes.attempt == 3
    assert len(of_type(evs, "ActivityTaskCompleted")) == 1
    assert not of_type(evs, "ActivityTaskFailed")


async def test_retry_policy_maximum_attempts(client, tq, wid):
    key = uuid.uuid4().hex
    async with new_worker(client, tq, [ActivityOptionsWorkflow], [flaky_activity]):
        handle, out = await run_call(client, tq, wid, ActivityCall(
            activity="flaky", key=key, fail_times=100, start_to_close=10.0, retry="page"))
    assert out["ok"] is False, out
    assert out["retry_state"] == "MAXIMUM_ATTEMPTS_REACHED", out
    assert out["cause_class"] == "ApplicationError" and out["cause_message"] == "attempt 5 failed", out
    assert ATTEMPTS[key] == [1, 2, 3, 4, 5]
    # 1 + 2 + 2 + 2 seconds of backoff (maximum_interval caps at 2s).
    assert out["elapsed"] >= 6.9, out
    evs = await events(handle)
    started = of_type(evs, "ActivityTaskStarted")
    assert len(started) == 1 and started[0].activity_task_started_event_attributes.attempt == 5
    failed = of_type(evs, "ActivityTaskFailed")
    assert len(failed) == 1
    assert RetryState.Name(failed[0].activity_task_failed_event_attributes.retry_state) == "RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED"


@pytest.mark.parametrize("error_kind,retry", [
    ("ValueError", "page_non_retryable"),  # non_retryable_error_types=["ValueError"]
    ("non_retryable", "page"),  # ApplicationError(non_retryable=True)
])
async def test_non_retryable_errors_are_not_retried(client, tq, wid, error_kind, retry):
    key = uuid.uuid4().hex
    async with new_worker(client, tq, [ActivityOptionsWorkflow], [flaky_activity]):
        handle, out = await run_call(client, tq, wid, ActivityCall(
            activity="flaky", key=key, fail_times=100, error_kind=error_kind,
            start_to_close=10.0, retry=retry))
    assert out["ok"] is False, out
    assert out["retry_state"] == "NON_RETRYABLE_FAILURE", out
    assert ATTEMPTS[key] == [1]
    failed = of_type(await events(handle), "ActivityTaskFailed")
    assert len(failed) == 1
    assert RetryState.Name(failed[0].activity_task_failed_event_attributes.retry_state) == "RETRY_STATE_NON_RETRYABLE_FAILURE"


# ---------------------------------------------------------------------------
# Workers
# ---------------------------------------------------------------------------


async def test_workflow_and_activity_workers_registered_separately(client, tq, wid):
    activity_tq = f"{tq}-activities"
    # A Worker may register only Workflows, only Activities, or both.
    async with new_worker(client, tq, workflows=[RemoteActivityWorkflow]), \
            new_worker(client, activity_tq, activities=[your_activity]):
        handle = await client.start_workflow(RemoteActivityWorkflow.run, activity_tq, id=wid(), task_queue=tq)
        assert await result(handle) == "Hello, other queue!"
    sched = of_type(await events(handle), "ActivityTaskScheduled")[0].activity_task_scheduled_event_attributes
    assert sched.task_queue.name == activity_tq


async def test_sync_activity_in_thread_pool(client, tq, wid):
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as executor:
        async with new_worker(client, tq, [SyncActivitiesWorkflow], [sync_threaded_activity],
                              activity_executor=executor):
            out = await within(client.execute_workflow(
                SyncActivitiesWorkflow.run, "sync_threaded_activity", id=wid(), task_queue=tq))
    assert out == "Hello, sync! (thread True)"


async def test_sync_activity_in_process_pool(client, tq, wid):
    with concurrent.futures.ProcessPoolExecutor(max_workers=1) as executor:
        async with new_worker(
            client, tq, [SyncActivitiesWorkflow], [sync_process_activity],
            activity_executor=executor,
            shared_state_manager=SharedStateManager.create_from_multiprocessing(
                multiprocessing.Manager()),
        ):
            out = await within(client.execute_workflow(
                SyncActivitiesWorkflow.run, "sync_process_activity", id=wid(), task_queue=tq))
    assert out.startswith("Hello, sync! (pid ")
    assert int(out.rsplit(" ", 1)[1].rstrip(")")) != os.getpid()


# ---------------------------------------------------------------------------
# Payload sizes
# ---------------------------------------------------------------------------


async def test_payload_size_limits(client, tq, wid):
    async with new_worker(client, tq, [EchoSizeWorkflow]):
        # Below the 2 MB single-payload limit: fine.
        ok = "x" * (1024 * 1024)
        assert await within(client.execute_workflow(
            EchoSizeWorkflow.run, ok, id=wid("1mb"), task_queue=tq)) == len(ok)
        # Above it: refused.
        too_big = "x" * (2 * 1024 * 1024 + 1024)
        with pytest.raises(RPCError) as excinfo:
            await within(client.start_workflow(
                EchoSizeWorkflow.run, too_big, id=wid("3mb"), task_queue=tq))
        assert excinfo.value.status == RPCStatusCode.INVALID_ARGUMENT, (
            excinfo.value.status, excinfo.value.message)
