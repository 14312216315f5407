"""Batch operations through the Python SDK's raw workflow service
(StartBatchOperation, DescribeBatchOperation, ListBatchOperations,
StopBatchOperation): a cancel batch over a visibility query cancels exactly
the matching workflows, which a worker sees as cancellation; a terminate
batch over a list of executions; the errors the SDK maps."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio import workflow
from temporalio.api.batch.v1 import BatchOperationCancellation, BatchOperationTermination
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import BatchOperationState, BatchOperationType
from temporalio.api.workflowservice.v1 import (
    DescribeBatchOperationRequest,
    ListBatchOperationsRequest,
    StartBatchOperationRequest,
    StopBatchOperationRequest,
)
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.service import RPCError, RPCStatusCode

from helpers import events, new_worker, of_type, wait_until, within


@workflow.defn
class BatchWaiter:
    """Waits until cancelled (or terminated)."""

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: False)
        return "never"


async def _describe(client, job_id):
    return await within(client.workflow_service.describe_batch_operation(
        DescribeBatchOperationRequest(namespace=client.namespace, job_id=job_id)))


async def _wait_done(client, job_id):
    done = None

    async def check():
        nonlocal done
        done = await _describe(client, job_id)
        return done.state != BatchOperationState.BATCH_OPERATION_STATE_RUNNING

    await wait_until(check, what=f"batch job {job_id} to finish")
    return done


@pytest.mark.asyncio
async def test_batch_cancel_by_query(client, tq, wid):
    async with new_worker(client, tq, [BatchWaiter]):
        handles = [await client.start_workflow(BatchWaiter.run, id=wid(f"c{i}"), task_queue=tq) for i in range(3)]
        other_tq = tq + "-other"
        other = await client.start_workflow(BatchWaiter.run, id=wid("other"), task_queue=other_tq)
        job = "py-cancel-" + uuid.uuid4().hex[:8]
        await within(client.workflow_service.start_batch_operation(StartBatchOperationRequest(
            namespace=client.namespace, job_id=job, reason="py cancel",
            visibility_query=f"TaskQueue = '{tq}'",
            cancellation_operation=BatchOperationCancellation(identity="py-batch"),
        )))
        d = await _wait_done(client, job)
        assert d.state == BatchOperationState.BATCH_OPERATION_STATE_COMPLETED
        assert (d.total_operation_count, d.complete_operation_count, d.failure_operation_count) == (3, 3, 0)
        assert d.operation_type == BatchOperationType.BATCH_OPERATION_TYPE_CANCEL
        assert d.reason == "py cancel" and d.identity == "py-batch"
        for h in handles:
            with pytest.raises(WorkflowFailureError):
                await within(h.result())
            assert (await h.describe()).status == WorkflowExecutionStatus.CANCELED
            req = of_type(await events(h), "WorkflowExecutionCancelRequested")
            assert len(req) == 1
            assert req[0].workflow_execution_cancel_requested_event_attributes.identity == "py-batch"
        assert (await other.describe()).status == WorkflowExecutionStatus.RUNNING
        await other.terminate("cleanup")

        listed = await within(client.workflow_service.list_batch_operations(
            ListBatchOperationsRequest(namespace=client.namespace)))
        mine = [o for o in listed.operation_info if o.job_id == job]
        assert len(mine) == 1 and mine[0].state == BatchOperationState.BATCH_OPERATION_STATE_COMPLETED


@pytest.mark.asyncio
async def test_batch_terminate_executions_and_errors(client, tq, wid):
    handles = [await client.start_workflow(BatchWaiter.run, id=wid(f"t{i}"), task_queue=tq) for i in range(2)]
    job = "py-term-" + uuid.uuid4().hex[:8]
    req = StartBatchOperationRequest(
        namespace=client.namespace, job_id=job, reason="py terminate",
        executions=[WorkflowExecution(workflow_id=h.id, run_id=h.result_run_id) for h in handles],
        termination_operation=BatchOperationTermination(),
    )
    await within(client.workflow_service.start_batch_operation(req))
    d = await _wait_done(client, job)
    assert (d.state, d.complete_operation_count) == (BatchOperationState.BATCH_OPERATION_STATE_COMPLETED, 2)
    assert [e.business_id for e in d.executions] == [h.id for h in handles]
    for h in handles:
        desc = await h.describe()
        assert desc.status == WorkflowExecutionStatus.TERMINATED
        last = (await events(h))[-1].workflow_execution_terminated_event_attributes
        assert last.reason == "py terminate"

    with pytest.raises(RPCError) as err:
        await within(client.workflow_service.start_batch_operation(req))
    assert err.value.status == RPCStatusCode.ALREADY_EXISTS

    with pytest.raises(RPCError) as err:
        await within(client.workflow_service.describe_batch_operation(
            DescribeBatchOperationRequest(namespace=client.namespace, job_id="no-such-job")))
    assert err.value.status == RPCStatusCode.NOT_FOUND

    with pytest.raises(RPCError) as err:
        await within(client.workflow_service.stop_batch_operation(
            StopBatchOperationRequest(namespace=client.namespace, job_id=job, reason="late")))
    assert err.value.status == RPCStatusCode.NOT_FOUND

    no_reason = StartBatchOperationRequest(
        namespace=client.namespace, job_id=job + "-x", visibility_query="WorkflowType='BatchWaiter'",
        termination_operation=BatchOperationTermination())
    with pytest.raises(RPCError) as err:
        await within(client.workflow_service.start_batch_operation(no_reason))
    assert err.value.status == RPCStatusCode.INVALID_ARGUMENT and "Reason" in err.value.message
