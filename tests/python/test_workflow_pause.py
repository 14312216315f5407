"""Workflow pause through the Python SDK's raw workflow service (the SDK
has no high-level call for it): a paused workflow records a signal but its
code does not run, describe shows status PAUSED with the pause info, a
second pause is refused; after the unpause the Python worker replays the
paused/unpaused events (marked worker_may_ignore) and the run completes."""

from __future__ import annotations

import asyncio

import pytest
from temporalio import workflow
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    PauseWorkflowExecutionRequest,
    UnpauseWorkflowExecutionRequest,
)
from temporalio.service import RPCError, RPCStatusCode

from helpers import event_names, new_worker, result, wait_workflow_task_done, within


@workflow.defn
class PyPauseWorkflow:
    def __init__(self) -> None:
        self.got: list[str] = []

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: "done" in self.got)
        return self.got

    @workflow.signal
    def step(self, s: str) -> None:
        self.got.append(s)


@pytest.mark.asyncio
async def test_workflow_pause(client, tq, wid):
    svc = client.workflow_service
    wid = wid("pause")
    async with new_worker(client, tq, workflows=[PyPauseWorkflow]):
        h = await client.start_workflow(PyPauseWorkflow.run, id=wid, task_queue=tq)
        await wait_workflow_task_done(h)
        await within(svc.pause_workflow_execution(PauseWorkflowExecutionRequest(
            namespace=client.namespace, workflow_id=wid, identity="py-op", reason="hold", request_id="p1")))
        with pytest.raises(RPCError) as err:
            await svc.pause_workflow_execution(PauseWorkflowExecutionRequest(
                namespace=client.namespace, workflow_id=wid, request_id="p2"))
        assert err.value.status == RPCStatusCode.FAILED_PRECONDITION
        assert "workflow is already paused." in err.value.message

        d = await within(svc.describe_workflow_execution(DescribeWorkflowExecutionRequest(
            namespace=client.namespace, execution=WorkflowExecution(workflow_id=wid))))
        assert d.workflow_execution_info.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_PAUSED
        assert d.workflow_extended_info.pause_info.reason == "hold"
        assert d.workflow_extended_info.pause_info.identity == "py-op"

        await h.signal(PyPauseWorkflow.step, "a")
        await h.signal(PyPauseWorkflow.step, "done")
        await asyncio.sleep(1)
        names = await event_names(h)
        assert names[names.index("WorkflowExecutionPaused") + 1:] == ["WorkflowExecutionSignaled"] * 2, names

        await within(svc.unpause_workflow_execution(UnpauseWorkflowExecutionRequest(
            namespace=client.namespace, workflow_id=wid, identity="py-op", reason="go")))
        assert await result(h) == ["a", "done"]
        names = await event_names(h)
        i = names.index("WorkflowExecutionUnpaused")
        assert names[i + 1] == "WorkflowTaskScheduled", names
        assert "WorkflowTaskFailed" not in names, names
