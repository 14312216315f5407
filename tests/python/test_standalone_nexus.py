"""Standalone Nexus operations through the Python SDK's client
(client.create_nexus_client, NexusOperationHandle, list/count): a Nexus
operation started by a client without a caller workflow, handled by a
Python worker with a synchronous operation and a workflow-run operation.
Checks results, failures, cancellation, termination, the id conflict
policy, describe, list and count."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import nexusrpc
import nexusrpc.handler
import pytest
from temporalio import nexus, workflow
from temporalio.api.nexus.v1 import EndpointSpec, EndpointTarget
from temporalio.api.operatorservice.v1 import CreateNexusEndpointRequest
from temporalio.client import NexusOperationFailureError, WorkflowExecutionStatus
from temporalio.common import NexusOperationExecutionStatus, PendingNexusOperationExecutionState
from temporalio.exceptions import ApplicationError, CancelledError, NexusOperationAlreadyStartedError, TerminatedError

from helpers import cause_chain, new_worker, wait_until, within


@dataclass
class SNInput:
    name: str
    handler_id: str = ""


@workflow.defn
class PySNGreetLaterWorkflow:
    @workflow.run
    async def run(self, input: SNInput) -> str:
        if input.name == "nobody":
            raise ApplicationError(f"no greeting for {input.name}", type="NoGreeting", non_retryable=True)
        if input.name == "patient":
            await workflow.wait_condition(lambda: False)
        return f"Hello later, {input.name}"


@nexusrpc.service
class PySNGreeting:
    hello: nexusrpc.Operation[SNInput, str]
    greet_later: nexusrpc.Operation[SNInput, str]


@nexusrpc.handler.service_handler(service=PySNGreeting)
class PySNGreetingHandler:
    @nexusrpc.handler.sync_operation
    async def hello(self, ctx: nexusrpc.handler.StartOperationContext, input: SNInput) -> str:
        return f"Hello, {input.name}"

    @nexus.workflow_run_operation
    async def greet_later(self, ctx: nexus.WorkflowRunOperationContext, input: SNInput) -> nexus.WorkflowHandle[str]:
        return await ctx.start_workflow(PySNGreetLaterWorkflow.run, input, id=input.handler_id)


async def _endpoint(client, tq: str) -> str:
    name = f"sn-ep-{uuid.uuid4().hex[:12]}"
    await within(client.operator_service.create_nexus_endpoint(CreateNexusEndpointRequest(
        spec=EndpointSpec(name=name, target=EndpointTarget(
            worker=EndpointTarget.Worker(namespace="default", task_queue=tq))))))
    return name


def _worker(client, tq):
    return new_worker(client, tq, [PySNGreetLaterWorkflow], nexus_service_handlers=[PySNGreetingHandler()])


async def test_standalone_nexus_sync_and_workflow_run(client, tq, wid):
    endpoint = await _endpoint(client, tq)
    nc = client.create_nexus_client(service=PySNGreeting, endpoint=endpoint)
    async with _worker(client, tq):
        assert await within(nc.execute_operation(
            PySNGreeting.hello, SNInput("Ada"), id=wid("sync"), schedule_to_close_timeout=timedelta(minutes=1))) == "Hello, Ada"
        handler_id = wid("handler")
        handle = await within(nc.start_operation(
            PySNGreeting.greet_later, SNInput("Bob", handler_id), id=wid("async"), schedule_to_close_timeout=timedelta(minutes=1)))
        assert handle.run_id
        assert await within(handle.result()) == "Hello later, Bob"
    desc = await within(handle.describe())
    assert desc.status == NexusOperationExecutionStatus.COMPLETED
    assert desc.endpoint == endpoint and desc.service == "PySNGreeting" and desc.operation == "greet_later"
    assert desc.operation_token and desc.request_id and desc.attempt == 1
    # The handler workflow ran with the operation's completion callback.
    hdesc = await within(client.get_workflow_handle(handler_id).describe())
    assert hdesc.status == WorkflowExecutionStatus.COMPLETED


async def test_standalone_nexus_failure_and_already_started(client, tq, wid):
    endpoint = await _endpoint(client, tq)
    nc = client.create_nexus_client(service=PySNGreeting, endpoint=endpoint)
    op_id = wid("fail")
    async with _worker(client, tq):
        handle = await within(nc.start_operation(
            PySNGreeting.greet_later, SNInput("nobody", wid("handler")), id=op_id, schedule_to_close_timeout=timedelta(minutes=1)))
        with pytest.raises(NexusOperationFailureError) as info:
            await within(handle.result())
    assert any(isinstance(e, ApplicationError) and e.type == "NoGreeting" for e in cause_chain(info.value)), cause_chain(info.value)
    desc = await within(handle.describe())
    assert desc.status == NexusOperationExecutionStatus.FAILED
    # A running operation with the same id is refused under the default
    # conflict policy.
    patient = wid("patient")
    async with _worker(client, tq):
        await within(nc.start_operation(PySNGreeting.greet_later, SNInput("patient", wid("h2")), id=patient))
        with pytest.raises(NexusOperationAlreadyStartedError):
            await within(nc.start_operation(PySNGreeting.greet_later, SNInput("patient", wid("h3")), id=patient))
        await within(client.get_nexus_operation_handle(patient).terminate(reason="cleanup"))


async def test_standalone_nexus_cancel_and_terminate(client, tq, wid):
    endpoint = await _endpoint(client, tq)
    nc = client.create_nexus_client(service=PySNGreeting, endpoint=endpoint)
    handler_id = wid("handler")
    async with _worker(client, tq):
        handle = await within(nc.start_operation(PySNGreeting.greet_later, SNInput("patient", handler_id), id=wid("cancel")))

        async def started() -> bool:
            d = await handle.describe()
            return d.state == PendingNexusOperationExecutionState.STARTED

        await wait_until(started)
        await within(handle.cancel(reason="not needed"))
        with pytest.raises(NexusOperationFailureError) as info:
            await within(handle.result())
        assert any(isinstance(e, CancelledError) for e in cause_chain(info.value)), cause_chain(info.value)
        desc = await within(handle.describe())
        assert desc.status == NexusOperationExecutionStatus.CANCELED
        assert desc.cancellation_info is not None and desc.cancellation_info.reason == "not needed"
        hdesc = await within(client.get_workflow_handle(handler_id).describe())
        assert hdesc.status == WorkflowExecutionStatus.CANCELED

        term = await within(nc.start_operation(PySNGreeting.greet_later, SNInput("patient", wid("h-term")), id=wid("term")))
        await within(term.terminate(reason="stop it"))
        with pytest.raises(NexusOperationFailureError) as info:
            await within(term.result())
        assert any(isinstance(e, TerminatedError) for e in cause_chain(info.value)), cause_chain(info.value)
        assert (await within(term.describe())).status == NexusOperationExecutionStatus.TERMINATED


async def test_standalone_nexus_list_and_count(client, tq, wid):
    endpoint = await _endpoint(client, tq)
    nc = client.create_nexus_client(service=PySNGreeting, endpoint=endpoint)
    ids = [wid(f"list-{i}") for i in range(3)]
    async with _worker(client, tq):
        for op_id in ids:
            await within(nc.execute_operation(PySNGreeting.hello, SNInput(op_id), id=op_id))
    listed = [op async for op in client.list_nexus_operations(f"Endpoint = '{endpoint}'")]
    assert sorted(op.operation_id for op in listed) == sorted(ids)
    assert all(op.status == NexusOperationExecutionStatus.COMPLETED and op.operation == "hello" for op in listed)
    count = await within(client.count_nexus_operations(f"Endpoint = '{endpoint}' AND ExecutionStatus = 'Completed'"))
    assert count.count == 3
    grouped = await within(client.count_nexus_operations(f"Endpoint = '{endpoint}' GROUP BY ExecutionStatus"))
    assert [(g.group_values, g.count) for g in grouped.groups] == [(["Completed"], 3)]
