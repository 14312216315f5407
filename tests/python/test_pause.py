"""Activity control through the Python SDK's raw workflow service (the SDK
has no high-level call for it): PauseActivity stops a retrying activity and
tells a running one through its heartbeat (the SDK cancels it with
cancellation details saying "paused"), describe shows the pause, and
UnpauseActivity / ResetActivity / UpdateActivityOptions act on it.
Workflow pause is tested in test_workflow_pause.py."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.field_mask_pb2 import FieldMask
from temporalio import activity, workflow
from temporalio.api.activity.v1 import ActivityOptions
from temporalio.api.common.v1 import RetryPolicy as ProtoRetryPolicy
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    PauseActivityRequest,
    ResetActivityRequest,
    UnpauseActivityRequest,
    UpdateActivityOptionsRequest,
)
from temporalio.common import RetryPolicy
from temporalio.service import RPCError, RPCStatusCode

from helpers import event_names, events, new_worker, of_type, result, wait_until, within

_state: dict[str, object] = {}


@activity.defn
async def py_flaky() -> str:
    _state["attempts"] = int(_state.get("attempts", 0)) + 1
    _state["last"] = activity.info().attempt
    if _state.get("ok"):
        return "done"
    raise RuntimeError("not yet")


@activity.defn
async def py_beat() -> str:
    if activity.info().attempt > 1:
        return "second"
    while True:
        activity.heartbeat("tick")
        try:
            await asyncio.sleep(0.1)
        except asyncio.CancelledError:
            details = activity.cancellation_details()
            _state["paused"] = bool(details and details.paused)
            raise


@workflow.defn
class PyFlakyWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(
            name,
            activity_id="act",
            start_to_close_timeout=timedelta(seconds=30),
            heartbeat_timeout=timedelta(seconds=1),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=50), backoff_coefficient=1),
        )


async def _pending(client, wf_id):
    d = await within(
        client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(namespace=client.namespace, execution=WorkflowExecution(workflow_id=wf_id))
        )
    )
    assert len(d.pending_activities) == 1, d.pending_activities
    return d.pending_activities[0]


@pytest.mark.asyncio
async def test_pause_stops_retries_then_unpause(client, tq, wid):
    _state.clear()
    async with new_worker(client, tq, [PyFlakyWorkflow], [py_flaky]):
        h = await client.start_workflow(PyFlakyWorkflow.run, "py_flaky", id=wid("pause"), task_queue=tq)
        ex = WorkflowExecution(workflow_id=h.id)

        async def three():
            return int(_state.get("attempts", 0)) >= 3

        await wait_until(three, what="three attempts")
        svc = client.workflow_service
        with pytest.raises(RPCError) as err:
            await svc.pause_activity(PauseActivityRequest(namespace=client.namespace, execution=ex, id="nope"))
        assert err.value.status == RPCStatusCode.NOT_FOUND
        await svc.pause_activity(
            PauseActivityRequest(namespace=client.namespace, execution=ex, type="py_flaky", identity="py-ops", reason="flaky")
        )
        await asyncio.sleep(0.3)
        n = _state["attempts"]
        await asyncio.sleep(1.0)
        assert _state["attempts"] == n, "the paused activity kept retrying"
        p = await _pending(client, h.id)
        assert p.paused and p.state == PendingActivityState.PENDING_ACTIVITY_STATE_PAUSED
        assert p.pause_info.manual.identity == "py-ops" and p.pause_info.manual.reason == "flaky"

        # Options change while paused; reset keeps it paused at attempt 1.
        resp = await svc.update_activity_options(
            UpdateActivityOptionsRequest(
                namespace=client.namespace,
                execution=ex,
                id="act",
                activity_options=ActivityOptions(retry_policy=ProtoRetryPolicy(maximum_attempts=33)),
                update_mask=FieldMask(paths=["retry_policy.maximum_attempts"]),
            )
        )
        assert resp.activity_options.retry_policy.maximum_attempts == 33
        await svc.reset_activity(ResetActivityRequest(namespace=client.namespace, execution=ex, id="act", keep_paused=True))
        p = await _pending(client, h.id)
        assert p.paused and p.attempt == 1 and p.maximum_attempts == 33, p

        _state["ok"] = True
        await svc.unpause_activity(
            UnpauseActivityRequest(namespace=client.namespace, execution=ex, unpause_all=True, jitter=Duration(nanos=100_000_000))
        )
        assert await result(h) == "done"
        assert _state["last"] == 1
        names = await event_names(h)
        assert names.count("ActivityTaskStarted") == 1 and names.count("ActivityTaskCompleted") == 1, names
        assert names[-1] == "WorkflowExecutionCompleted"
        started = of_type(await events(h), "ActivityTaskStarted")[0]
        assert started.activity_task_started_event_attributes.attempt == 1


@pytest.mark.asyncio
async def test_pause_running_activity_heartbeat(client, tq, wid):
    _state.clear()
    async with new_worker(client, tq, [PyFlakyWorkflow], [py_beat]):
        h = await client.start_workflow(PyFlakyWorkflow.run, "py_beat", id=wid("pause-beat"), task_queue=tq)
        ex = WorkflowExecution(workflow_id=h.id)

        async def started():
            d = await client.workflow_service.describe_workflow_execution(
                DescribeWorkflowExecutionRequest(namespace=client.namespace, execution=ex)
            )
            return any(p.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED for p in d.pending_activities)

        await wait_until(started, what="the activity to start")
        await client.workflow_service.pause_activity(PauseActivityRequest(namespace=client.namespace, execution=ex, id="act"))

        async def told():
            return "paused" in _state

        await wait_until(told, what="the heartbeat to report the pause")
        assert _state["paused"] is True

        async def paused():
            return (await _pending(client, h.id)).state == PendingActivityState.PENDING_ACTIVITY_STATE_PAUSED

        await wait_until(paused, what="the attempt to end")
        await asyncio.sleep(1.5)  # past the heartbeat timeout: nothing fires while paused
        p = await _pending(client, h.id)
        assert p.state == PendingActivityState.PENDING_ACTIVITY_STATE_PAUSED and p.attempt == 2
        await client.workflow_service.unpause_activity(UnpauseActivityRequest(namespace=client.namespace, execution=ex, id="act"))
        assert await result(h) == "second"
        names = await event_names(h)
        assert "ActivityTaskFailed" not in names and "ActivityTaskTimedOut" not in names, names
