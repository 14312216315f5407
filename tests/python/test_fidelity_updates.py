"""Update semantics that must match Temporal 1.31 (as the Python SDK and
Temporal's feature suite, features/update/* and
continue_as_new/updates_do_not_block_continue_as_new, expect them).

The workflows here run unsandboxed: the continue-as-new test holds a
workflow task with a threading.Event, as the feature suite does, which a
real workflow must never do.
"""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta

import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import UpdateWorkflowExecutionLifecycleStage
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.update.v1 import UpdateRef
from temporalio.api.workflowservice.v1 import PollWorkflowExecutionUpdateRequest
from temporalio.client import (
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import UnsandboxedWorkflowRunner

from helpers import WAIT, event_names, events, new_worker, of_type, result


def _worker(client, tq, workflows):
    return new_worker(client, tq, workflows, workflow_runner=UnsandboxedWorkflowRunner())


async def within(aw, timeout: float = WAIT):
    return await asyncio.wait_for(aw, timeout)


@workflow.defn
class BlockedUpdateWorkflow:
    """Its "wait" update runs until "unblock"; "finish" ends the run."""

    def __init__(self) -> None:
        self.unblocked = False
        self.done = False
        self.counter = 0

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.done)
        return "finished"

    @workflow.update
    async def wait(self) -> int:
        self.counter += 1
        await workflow.wait_condition(lambda: self.unblocked)
        return self.counter

    @workflow.update(unfinished_policy=workflow.HandlerUnfinishedPolicy.ABANDON)
    async def start_and_finish(self) -> int:
        # The workflow completes in the task that accepts this update, while
        # its handler is still waiting.
        self.done = True
        await workflow.wait_condition(lambda: self.unblocked)
        return 0

    @workflow.signal
    def unblock(self) -> None:
        self.unblocked = True

    @workflow.signal
    def finish(self) -> None:
        self.done = True


async def test_update_result_with_rpc_timeout_times_out(client, tq, wid):
    """features/update/async_accepted: waiting for an outcome that does not
    come within the RPC timeout raises WorkflowUpdateRPCTimeoutOrCancelledError
    at that timeout (Temporal fails the poll with DeadlineExceeded; an empty
    answer just before the deadline made the SDK poll again forever)."""
    async with _worker(client, tq, [BlockedUpdateWorkflow]):
        handle = await client.start_workflow(BlockedUpdateWorkflow.run, id=wid(), task_queue=tq)
        update = await within(handle.start_update(
            BlockedUpdateWorkflow.wait, wait_for_stage=WorkflowUpdateStage.ACCEPTED, id="slow"))
        start = time.monotonic()
        with pytest.raises(WorkflowUpdateRPCTimeoutOrCancelledError):
            await within(update.result(rpc_timeout=timedelta(seconds=1)), 10)
        assert time.monotonic() - start < 5
        await handle.signal(BlockedUpdateWorkflow.unblock)
        assert await within(update.result()) == 1
        await handle.signal(BlockedUpdateWorkflow.finish)
        assert await result(handle) == "finished"


async def test_poll_without_wait_stage_answers_at_once(client, tq, wid):
    """A PollWorkflowExecutionUpdate without a wait stage answers at once with
    the stage reached (the feature harness uses it to see an update admitted)."""
    handle = await client.start_workflow(BlockedUpdateWorkflow.run, id=wid(), task_queue=tq)
    try:
        # No worker: the update stays admitted.
        pending = asyncio.create_task(handle.execute_update(BlockedUpdateWorkflow.wait, id="u1"))
        req = PollWorkflowExecutionUpdateRequest(
            namespace=client.namespace,
            update_ref=UpdateRef(workflow_execution=WorkflowExecution(workflow_id=handle.id), update_id="u1"),
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                start = time.monotonic()
                resp = await within(client.workflow_service.poll_workflow_execution_update(req), 10)
                break
            except RPCError as err:
                assert err.status == RPCStatusCode.NOT_FOUND, err
                assert time.monotonic() < deadline, "update never admitted"
                await asyncio.sleep(0.05)
        assert time.monotonic() - start < 2
        assert resp.stage == UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED
        assert not resp.HasField("outcome")
        pending.cancel()
    finally:
        await handle.terminate("test cleanup")


async def test_accepted_update_fails_when_workflow_completes(client, tq, wid):
    """features/update/deduplication: an update accepted by the task that
    completes the workflow is accepted (start_update returns), and its result
    is the server's AcceptedUpdateCompletedWorkflow update failure."""
    async with _worker(client, tq, [BlockedUpdateWorkflow]):
        handle = await client.start_workflow(BlockedUpdateWorkflow.run, id=wid(), task_queue=tq)
        update = await within(handle.start_update(
            BlockedUpdateWorkflow.start_and_finish, wait_for_stage=WorkflowUpdateStage.ACCEPTED, id="last"))
        assert await result(handle) == "finished"
        with pytest.raises(WorkflowUpdateFailedError) as excinfo:
            await within(update.result())
        cause = excinfo.value.cause
        assert isinstance(cause, ApplicationError), repr(cause)
        assert cause.type == "AcceptedUpdateCompletedWorkflow"
        assert cause.non_retryable
        assert "completed before the Update completed" in cause.message
        names = await event_names(handle)
        assert names[-3:] == [
            "WorkflowTaskCompleted", "WorkflowExecutionUpdateAccepted", "WorkflowExecutionCompleted"], names
        assert "WorkflowExecutionUpdateCompleted" not in names


_failed_once: set[str] = set()


@workflow.defn
class TaskFailingOnceWorkflow:
    def __init__(self) -> None:
        self.done = False

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.done)
        return "finished"

    @workflow.update
    async def flaky(self) -> str:
        # Not deterministic on purpose (test only): fails the workflow task
        # the first time, succeeds when the task is retried.
        wid = workflow.info().workflow_id
        if wid not in _failed_once:
            _failed_once.add(wid)
            raise RuntimeError("fails the workflow task once")
        self.done = True
        return "handled"


async def test_update_delivered_again_after_task_failure(client, tq, wid):
    """features/update/task_failure: an update whose handler failed the
    workflow task is delivered again with the retried task, and the caller
    gets that result (not WorkflowNotReady)."""
    async with _worker(client, tq, [TaskFailingOnceWorkflow]):
        handle = await client.start_workflow(TaskFailingOnceWorkflow.run, id=wid(), task_queue=tq)
        assert await within(handle.execute_update(TaskFailingOnceWorkflow.flaky, id="u1")) == "handled"
        assert await result(handle) == "finished"
        evs = await events(handle)
        failed = of_type(evs, "WorkflowTaskFailed")
        assert len(failed) == 1, [e.event_type for e in evs]
        assert "fails the workflow task once" in failed[0].workflow_task_failed_event_attributes.failure.message
        assert len(of_type(evs, "WorkflowExecutionUpdateAccepted")) == 1
        assert len(of_type(evs, "WorkflowExecutionUpdateCompleted")) == 1


_in_first_task = threading.Event()
_update_admitted = threading.Event()


@workflow.defn
class ContinueAsNewOnceWorkflow:
    def __init__(self) -> None:
        self.received = False

    @workflow.run
    async def run(self) -> str:
        if workflow.info().continued_run_id is None:
            if not _in_first_task.is_set():
                _in_first_task.set()
                _update_admitted.wait(10)  # hold this task until the update is admitted
            workflow.continue_as_new()
        await workflow.wait_condition(lambda: self.received)
        return workflow.info().run_id

    @workflow.update
    async def update(self) -> str:
        self.received = True
        return workflow.info().run_id


async def test_update_does_not_block_continue_as_new(client, tq, wid):
    """continue_as_new/updates_do_not_block_continue_as_new: an update admitted
    while the first run's task runs does not fail that task's continue-as-new;
    it is handled by the new run, and only the new run's history has it."""
    _in_first_task.clear()
    _update_admitted.clear()
    async with _worker(client, tq, [ContinueAsNewOnceWorkflow]):
        handle = await client.start_workflow(ContinueAsNewOnceWorkflow.run, id=wid(), task_queue=tq)
        await within(asyncio.to_thread(_in_first_task.wait, 10))
        update = asyncio.create_task(handle.execute_update(ContinueAsNewOnceWorkflow.update, id="u1"))
        req = PollWorkflowExecutionUpdateRequest(
            namespace=client.namespace,
            update_ref=UpdateRef(workflow_execution=WorkflowExecution(workflow_id=handle.id), update_id="u1"),
        )
        while True:
            try:
                await within(client.workflow_service.poll_workflow_execution_update(req), 10)
                break
            except RPCError as err:
                assert err.status == RPCStatusCode.NOT_FOUND, err
                await asyncio.sleep(0.05)
        _update_admitted.set()
        run_id = await within(update)
        first = handle.first_execution_run_id
        assert run_id and first and run_id != first
        assert await result(client.get_workflow_handle(handle.id)) == run_id
        first_names = await event_names(client.get_workflow_handle(handle.id, run_id=first))
        assert not [n for n in first_names if n.startswith("WorkflowExecutionUpdate")], first_names
        assert first_names[-1] == "WorkflowExecutionContinuedAsNew"
        assert "WorkflowTaskFailed" not in first_names, first_names
        second_names = await event_names(client.get_workflow_handle(handle.id, run_id=run_id))
        assert "WorkflowExecutionUpdateAccepted" in second_names
        assert "WorkflowExecutionUpdateCompleted" in second_names
