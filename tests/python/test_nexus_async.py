"""Nexus through the Python SDK, as the seed's samples use it: a service
definition, a handler with a synchronous operation and workflow-run
operations (the handler starts a workflow that carries the caller's
completion callback), and a caller workflow using create_nexus_client.
Checks results, errors and the Nexus events of the caller's history
(asynchronous operations are Scheduled, Started, then Completed / Failed /
Canceled), and the handler workflow's completion callback."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import nexusrpc
import nexusrpc.handler
import pytest
from temporalio import nexus, workflow
from temporalio.api.nexus.v1 import EndpointSpec, EndpointTarget
from temporalio.api.operatorservice.v1 import CreateNexusEndpointRequest
from temporalio.client import WorkflowExecutionStatus
from temporalio.exceptions import ApplicationError, NexusOperationError

from helpers import event_names, events, new_worker, of_type, result, within


@dataclass
class GreetInput:
    name: str
    handler_id: str = ""


@workflow.defn
class PyGreetLaterWorkflow:
    @workflow.run
    async def run(self, input: GreetInput) -> str:
        if input.name == "nobody":
            raise ApplicationError(f"no greeting for {input.name}", type="NoGreeting", non_retryable=True)
        if input.name == "patient":
            await workflow.wait_condition(lambda: False)
        return f"Hello later, {input.name}"


@nexusrpc.service
class PyGreeting:
    hello: nexusrpc.Operation[GreetInput, str]
    greet_later: nexusrpc.Operation[GreetInput, str]


@nexusrpc.handler.service_handler(service=PyGreeting)
class PyGreetingHandler:
    @nexusrpc.handler.sync_operation
    async def hello(self, ctx: nexusrpc.handler.StartOperationContext, input: GreetInput) -> str:
        return f"Hello, {input.name}"

    @nexus.workflow_run_operation
    async def greet_later(self, ctx: nexus.WorkflowRunOperationContext, input: GreetInput) -> nexus.WorkflowHandle[str]:
        return await ctx.start_workflow(PyGreetLaterWorkflow.run, input, id=input.handler_id)


@workflow.defn
class PyNexusCallerWorkflow:
    @workflow.run
    async def run(self, endpoint: str, input: GreetInput) -> list[str]:
        client = workflow.create_nexus_client(service=PyGreeting, endpoint=endpoint)
        now = await client.execute_operation(PyGreeting.hello, input)
        later = await client.execute_operation(PyGreeting.greet_later, input)
        return [now, later]


@workflow.defn
class PyNexusCancelWorkflow:
    @workflow.run
    async def run(self, endpoint: str, input: GreetInput) -> str:
        client = workflow.create_nexus_client(service=PyGreeting, endpoint=endpoint)
        handle = await client.start_operation(PyGreeting.greet_later, input)
        handle.cancel()
        try:
            await handle
        except NexusOperationError as err:
            return f"canceled: {type(err.cause).__name__}"
        return "not canceled"


async def _endpoint(client, tq: str) -> str:
    name = f"ep-{uuid.uuid4().hex[:12]}"
    await within(client.operator_service.create_nexus_endpoint(CreateNexusEndpointRequest(
        spec=EndpointSpec(name=name, target=EndpointTarget(
            worker=EndpointTarget.Worker(namespace="default", task_queue=tq))))))
    return name


def _nexus_events(names: list[str]) -> list[str]:
    return [n for n in names if n.startswith("NexusOperation")]


def _worker(client, tq):
    return new_worker(client, tq, [PyNexusCallerWorkflow, PyNexusCancelWorkflow, PyGreetLaterWorkflow],
                      nexus_service_handlers=[PyGreetingHandler()])


async def test_nexus_sync_and_workflow_run_operations(client, tq, wid):
    endpoint = await _endpoint(client, tq)
    handler_id = wid("handler")
    async with _worker(client, tq):
        handle = await client.start_workflow(
            PyNexusCallerWorkflow.run, args=[endpoint, GreetInput("Ada", handler_id)], id=wid(), task_queue=tq)
        assert await result(handle) == ["Hello, Ada", "Hello later, Ada"]
    evs = await events(handle)
    assert _nexus_events(await event_names(handle)) == [
        "NexusOperationScheduled", "NexusOperationCompleted",
        "NexusOperationScheduled", "NexusOperationStarted", "NexusOperationCompleted"]
    started = of_type(evs, "NexusOperationStarted")[0]
    assert started.nexus_operation_started_event_attributes.operation_token
    assert started.links[0].workflow_event.workflow_id == handler_id
    # The handler workflow carries the callback back to the caller.
    handler_start = (await events(client.get_workflow_handle(handler_id)))[0]
    cbs = handler_start.workflow_execution_started_event_attributes.completion_callbacks
    assert [cb.nexus.url for cb in cbs] == ["temporal://system"]


async def test_nexus_workflow_run_operation_fails(client, tq, wid):
    endpoint = await _endpoint(client, tq)
    async with _worker(client, tq):
        handle = await client.start_workflow(
            PyNexusCallerWorkflow.run, args=[endpoint, GreetInput("nobody", wid("handler"))], id=wid(), task_queue=tq)
        with pytest.raises(Exception) as info:
            await result(handle)
    chain = []
    err: BaseException | None = info.value
    while err is not None:
        chain.append(err)
        err = err.__cause__
    assert any(isinstance(e, NexusOperationError) for e in chain), chain
    assert any(isinstance(e, ApplicationError) and e.type == "NoGreeting" for e in chain), chain
    assert _nexus_events(await event_names(handle))[-3:] == [
        "NexusOperationScheduled", "NexusOperationStarted", "NexusOperationFailed"]


async def test_nexus_caller_cancels_workflow_run_operation(client, tq, wid):
    endpoint = await _endpoint(client, tq)
    handler_id = wid("handler")
    async with _worker(client, tq):
        handle = await client.start_workflow(
            PyNexusCancelWorkflow.run, args=[endpoint, GreetInput("patient", handler_id)], id=wid(), task_queue=tq)
        assert await result(handle) == "canceled: CancelledError"
        desc = await within(client.get_workflow_handle(handler_id).describe())
        assert desc.status == WorkflowExecutionStatus.CANCELED
    # The handler workflow's cancellation may close the operation before the
    # cancel task's answer comes back; then no CancelRequestCompleted is
    # recorded (as in Temporal).
    assert _nexus_events(await event_names(handle)) in (
        ["NexusOperationScheduled", "NexusOperationStarted", "NexusOperationCancelRequested",
         "NexusOperationCancelRequestCompleted", "NexusOperationCanceled"],
        ["NexusOperationScheduled", "NexusOperationStarted", "NexusOperationCancelRequested",
         "NexusOperationCanceled"])
