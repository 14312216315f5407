"""ResetWorkflowExecution through the Python SDK's raw workflow service (the
SDK has no high-level reset call): a worker carries the reset run on from
the reset point, replaying the copied history, and signals sent after the
point are reapplied unless excluded."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import ResetReapplyExcludeType, WorkflowTaskFailedCause
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from helpers import event_names, events, new_worker, of_type, result, wait_until, within


@activity.defn
async def echo(s: str) -> str:
    return s


@workflow.defn
class ResetWorkflow:
    """Runs an activity, waits for a signal, twice; returns what it saw."""

    def __init__(self) -> None:
        self.signals: list[str] = []

    @workflow.run
    async def run(self) -> str:
        out = []
        for step in ("one", "two"):
            out.append(await workflow.execute_activity(echo, step, start_to_close_timeout=timedelta(seconds=10)))
            n = len(out) // 2
            await workflow.wait_condition(lambda: len(self.signals) > n)
            out.append("sig:" + self.signals[n])
        return ",".join(out)

    @workflow.signal
    def sig(self, s: str) -> None:
        self.signals.append(s)


async def _reset(client, wf_id, run_id, point, **kw):
    req = ResetWorkflowExecutionRequest(
        namespace=client.namespace,
        workflow_execution=WorkflowExecution(workflow_id=wf_id, run_id=run_id),
        reason="python reset",
        workflow_task_finish_event_id=point,
        request_id=str(uuid.uuid4()),
        **kw,
    )
    resp = await within(client.workflow_service.reset_workflow_execution(req))
    return resp.run_id


async def _first_completed_task(handle) -> int:
    evs = await events(handle)
    return of_type(evs, "WorkflowTaskCompleted")[0].event_id


@pytest.mark.asyncio
async def test_reset_reapplies_signals(client, tq, wid):
    async with new_worker(client, tq, [ResetWorkflow], [echo]):
        h = await client.start_workflow(ResetWorkflow.run, id=wid("reset"), task_queue=tq)

        async def activity_done():
            return "ActivityTaskCompleted" in await event_names(h)

        await wait_until(activity_done, what="first activity")
        await h.signal(ResetWorkflow.sig, "a")
        point = await _first_completed_task(h)
        old_run = h.result_run_id

        new_run = await _reset(client, h.id, old_run, point)
        assert new_run and new_run != old_run

        old = client.get_workflow_handle(h.id, run_id=old_run)
        old_events = await events(old)
        assert old_events[-1].workflow_execution_terminated_event_attributes.identity == "history-resetter"
        assert (await old.describe()).status == WorkflowExecutionStatus.TERMINATED

        new = client.get_workflow_handle(h.id, run_id=new_run)
        await new.signal(ResetWorkflow.sig, "b")
        assert await result(new) == "one,sig:a,two,sig:b"

        new_events = await events(new)
        for i in range(point - 1):
            assert new_events[i].event_type == old_events[i].event_type
        failed = new_events[point - 1].workflow_task_failed_event_attributes
        assert failed.cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW
        assert (failed.base_run_id, failed.new_run_id) == (old_run, new_run)
        assert new_events[point].workflow_execution_signaled_event_attributes.signal_name == "sig"

        desc = await old.describe()
        assert desc.raw_description.workflow_extended_info.reset_run_id == new_run


@pytest.mark.asyncio
async def test_reset_excluding_signals(client, tq, wid):
    async with new_worker(client, tq, [ResetWorkflow], [echo]):
        h = await client.start_workflow(ResetWorkflow.run, id=wid("reset-x"), task_queue=tq)

        async def activity_done():
            return "ActivityTaskCompleted" in await event_names(h)

        await wait_until(activity_done, what="first activity")
        await h.signal(ResetWorkflow.sig, "a")
        await h.signal(ResetWorkflow.sig, "b")
        assert await result(h) == "one,sig:a,two,sig:b"
        point = await _first_completed_task(h)

        new_run = await _reset(
            client, h.id, h.result_run_id, point,
            reset_reapply_exclude_types=[ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL],
        )
        new = client.get_workflow_handle(h.id, run_id=new_run)
        # The completed run is not terminated by the reset.
        assert (await client.get_workflow_handle(h.id, run_id=h.result_run_id).describe()).status == WorkflowExecutionStatus.COMPLETED
        await new.signal(ResetWorkflow.sig, "x")
        await new.signal(ResetWorkflow.sig, "y")
        assert await result(new) == "one,sig:x,two,sig:y"
        assert len(of_type(await events(new), "WorkflowExecutionSignaled")) == 2  # x and y only


@pytest.mark.asyncio
async def test_reset_bad_point(client, tq, wid):
    async with new_worker(client, tq, [ResetWorkflow], [echo]):
        h = await client.start_workflow(ResetWorkflow.run, id=wid("reset-bad"), task_queue=tq)

        async def activity_done():
            return "ActivityTaskCompleted" in await event_names(h)

        await wait_until(activity_done, what="first activity")
        with pytest.raises(RPCError) as err:
            await _reset(client, h.id, h.result_run_id, 1)
        assert err.value.status == RPCStatusCode.INVALID_ARGUMENT
        scheduled = of_type(await events(h), "ActivityTaskScheduled")[0].event_id
        with pytest.raises(RPCError) as err:
            await _reset(client, h.id, h.result_run_id, scheduled + 1)
        assert err.value.status == RPCStatusCode.INVALID_ARGUMENT
        assert "Can only reset workflow to event ID in range" in err.value.message
        await h.terminate()
