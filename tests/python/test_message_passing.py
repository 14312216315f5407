"""Seed 000: "Workflow message passing - Python SDK", run against Sundial.

Client snippets from the page are used as printed, except that they connect
to the test server, use a per-test task queue, and (where the page hardcodes
a workflow id in *client* code) a per-test workflow id.
"""

import asyncio
import uuid
import warnings
from decimal import Decimal
from typing import Optional, Tuple

import pytest
import temporalio.client
from temporalio import common
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.exceptions import ApplicationError, TimeoutError as TemporalTimeoutError
from temporalio.service import RPCError, RPCStatusCode

from helpers import (
    WAIT,
    assert_in_order,
    event_name,
    event_names,
    events,
    new_worker,
    of_type,
    result,
    wait_for_event,
    wait_until,
    wait_workflow_task_done,
    within,
)
from seed_message_passing import (
    AllHandlersFinishedWorkflow,
    ApproveInput,
    AsyncGreetingWorkflow,
    DynamicActivityGreetingWorkflow,
    DynamicHandlersWorkflow,
    DynamicWorkflow,
    FailingHandlersWorkflow,
    FinalizedOrder,
    GetLanguagesInput,
    GreetingWorkflow,
    HelloWorldInput,
    HelloWorldWorkflow,
    Language,
    LockWorkflow,
    MyWorkflowInput,
    ShoppingCartItem,
    ShoppingCartWorkflow,
    SignalClosedWorkflowSender,
    SleepyWorkflow,
    UnfinishedHandlersWorkflow,
    WorkflowA,
    WorkflowB,
    WorkflowRunSeesWorkflowInitWorkflow,
    call_greeting_service,
    check_title_validity,
    compose_greeting,
    default_greeting,
    dynamic_greeting,
    fetch_data,
    get_price,
)

UPDATE_EVENTS = (
    "WorkflowExecutionUpdateAdmitted",
    "WorkflowExecutionUpdateAccepted",
    "WorkflowExecutionUpdateRejected",
    "WorkflowExecutionUpdateCompleted",
)


def decode(client: Client, payloads, type_hint=None):
    return [client.data_converter.payload_converter.from_payload(p, type_hint) for p in payloads]


async def wait_idle(handle: WorkflowHandle) -> None:
    """Waits until every scheduled workflow task has been completed."""

    async def idle() -> bool:
        names = await event_names(handle)
        sched = names.count("WorkflowTaskScheduled")
        return sched > 0 and sched == names.count("WorkflowTaskCompleted")

    await wait_until(idle, what=f"{handle.id} to have no pending workflow task")


# ---------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------


async def test_query_get_languages_adds_no_events(client, tq, wid):
    async with new_worker(client, tq, [GreetingWorkflow]):
        workflow_handle = await client.start_workflow(
            GreetingWorkflow.run, id=wid(), task_queue=tq
        )
        await wait_idle(workflow_handle)
        before = await event_names(workflow_handle)

        # erratum: the page passes GetLanguagesInput(supported_only=True), but the
        # dataclass it defines has the field include_unsupported.
        supported_languages = await within(workflow_handle.query(
            GreetingWorkflow.get_languages, GetLanguagesInput(include_unsupported=False)
        ))
        assert supported_languages == [Language.Chinese, Language.English]
        all_languages = await within(workflow_handle.query(
            GreetingWorkflow.get_languages, GetLanguagesInput(include_unsupported=True)
        ))
        assert all_languages == list(Language)
        assert len(all_languages) == 7
        for _ in range(3):
            await within(workflow_handle.query(GreetingWorkflow.get_language))

        # "Sending a Query doesn't add events to a Workflow's Event History."
        assert await event_names(workflow_handle) == before

        await workflow_handle.signal(GreetingWorkflow.approve, ApproveInput(name="me"))
        assert await result(workflow_handle) == "Hello, world"


async def test_query_closed_workflows(client, tq, wid):
    """Queries work on Workflows that completed, failed, or timed out."""
    async with new_worker(client, tq, [GreetingWorkflow, FailingHandlersWorkflow, SleepyWorkflow]):
        completed = await client.start_workflow(GreetingWorkflow.run, id=wid("completed"), task_queue=tq)
        await completed.signal(GreetingWorkflow.approve, ApproveInput(name="me"))
        assert await result(completed) == "Hello, world"
        assert await within(completed.query(GreetingWorkflow.get_approver)) == "me"
        assert await within(completed.query(
            GreetingWorkflow.get_languages, GetLanguagesInput(include_unsupported=False)
        )) == [Language.Chinese, Language.English]

        failed = await client.start_workflow(
            FailingHandlersWorkflow.run, "deliberate failure", id=wid("failed"), task_queue=tq
        )
        await failed.signal(FailingHandlersWorkflow.finish)
        with pytest.raises(WorkflowFailureError):
            await result(failed)
        assert (await failed.describe()).status == WorkflowExecutionStatus.FAILED
        assert await within(failed.query(FailingHandlersWorkflow.status)) == "finished"

        timed_out = await client.start_workflow(
            SleepyWorkflow.run, id=wid("timedout"), task_queue=tq,
            execution_timeout=__import__("datetime").timedelta(seconds=1),
        )
        with pytest.raises(WorkflowFailureError) as excinfo:
            await result(timed_out)
        assert isinstance(excinfo.value.cause, TemporalTimeoutError)
        assert (await timed_out.describe()).status == WorkflowExecutionStatus.TIMED_OUT
        assert await within(timed_out.query(SleepyWorkflow.get_stage)) == "sleeping"


async def test_query_handler_exception_is_WorkflowQueryFailedError(client, tq, wid):
    async with new_worker(client, tq, [FailingHandlersWorkflow]):
        handle = await client.start_workflow(FailingHandlersWorkflow.run, "", id=wid(), task_queue=tq)
        await wait_idle(handle)
        before = await event_names(handle)

        with pytest.raises(WorkflowQueryFailedError) as excinfo:
            await within(handle.query(FailingHandlersWorkflow.broken_query))
        assert "query handler blew up" in str(excinfo.value)

        # A Query "can inspect but must not mutate": commands are refused.
        with pytest.raises(WorkflowQueryFailedError):
            await within(handle.query(FailingHandlersWorkflow.mutating_query))

        # A failing query does not fail the workflow task or touch history.
        assert await event_names(handle) == before
        assert await within(handle.query(FailingHandlersWorkflow.status)) == "running"
        await handle.signal(FailingHandlersWorkflow.finish)
        assert await result(handle) == "done"


async def test_query_without_worker_is_FAILED_PRECONDITION(client, tq, wid):
    """"A Worker must be online and polling the Task Queue to process a Query."
    With no worker polling: RPCError with status FAILED_PRECONDITION."""
    handle = await client.start_workflow(GreetingWorkflow.run, id=wid(), task_queue=tq)
    try:
        # A worker processes the first workflow task, then goes away.
        async with new_worker(client, tq, [GreetingWorkflow]):
            await wait_idle(handle)
        # Temporal Server answers this only near the end of the RPC deadline
        # (~30s by default); any quicker answer is fine too.
        with pytest.raises(RPCError) as excinfo:
            await within(handle.query(
                GreetingWorkflow.get_languages, GetLanguagesInput(include_unsupported=True)
            ), 45)
        assert excinfo.value.status == RPCStatusCode.FAILED_PRECONDITION, (
            excinfo.value.status, excinfo.value.message)
    finally:
        await handle.terminate("test cleanup")


# ---------------------------------------------------------------------------
# Signals
# ---------------------------------------------------------------------------


async def test_signal_from_client_returns_before_delivery(client, tq, wid):
    workflow_handle = await client.start_workflow(GreetingWorkflow.run, id=wid(), task_queue=tq)
    # No worker is running: the call returns once the server accepted the
    # Signal, without waiting for it to be delivered.
    await within(workflow_handle.signal(GreetingWorkflow.approve, ApproveInput(name="me")), 10)

    evs = await events(workflow_handle)
    signaled = of_type(evs, "WorkflowExecutionSignaled")
    assert len(signaled) == 1
    attrs = signaled[0].workflow_execution_signaled_event_attributes
    assert attrs.signal_name == "approve"
    assert decode(client, attrs.input.payloads, ApproveInput) == [ApproveInput(name="me")]
    assert (await workflow_handle.describe()).status == WorkflowExecutionStatus.RUNNING

    async with new_worker(client, tq, [GreetingWorkflow]):
        assert await result(workflow_handle) == "Hello, world"
        assert await within(workflow_handle.query(GreetingWorkflow.get_approver)) == "me"
    assert_in_order(await event_names(workflow_handle), [
        "WorkflowExecutionStarted", "WorkflowExecutionSignaled",
        "WorkflowTaskCompleted", "WorkflowExecutionCompleted",
    ])


async def test_wait_condition_blocks_until_signal(client, tq, wid):
    async with new_worker(client, tq, [GreetingWorkflow]):
        handle = await client.start_workflow(GreetingWorkflow.run, id=wid(), task_queue=tq)
        await wait_idle(handle)
        await asyncio.sleep(0.5)
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
        assert "WorkflowExecutionCompleted" not in await event_names(handle)

        await handle.signal(GreetingWorkflow.approve, ApproveInput(name="approver"))
        assert await result(handle) == "Hello, world"
        assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED


async def test_signal_from_another_workflow(client, tq, wid):
    async with new_worker(client, tq, [WorkflowA, WorkflowB]):
        # WorkflowB hardcodes the id "workflow-a".
        a = await client.start_workflow(WorkflowA.run, id="workflow-a", task_queue=tq)
        b = await client.start_workflow(WorkflowB.run, id=wid("b"), task_queue=tq)
        assert await result(b) is None
        assert await result(a) == "signal argument"

    b_events = await events(b)
    initiated = of_type(b_events, "SignalExternalWorkflowExecutionInitiated")
    assert len(initiated) == 1
    iattrs = initiated[0].signal_external_workflow_execution_initiated_event_attributes
    assert iattrs.signal_name == "your_signal"
    assert iattrs.workflow_execution.workflow_id == "workflow-a"
    assert len(of_type(b_events, "ExternalWorkflowExecutionSignaled")) == 1

    a_signaled = of_type(await events(a), "WorkflowExecutionSignaled")
    assert len(a_signaled) == 1
    sattrs = a_signaled[0].workflow_execution_signaled_event_attributes
    assert sattrs.signal_name == "your_signal"
    assert decode(client, sattrs.input.payloads, str) == ["signal argument"]


async def test_signal_with_start(client, tq, wid):
    workflow_id = wid("your-signal-with-start-workflow")
    # No worker yet, so the history shows exactly what signal-with-start wrote.
    handle = await client.start_workflow(
        GreetingWorkflow.run,
        id=workflow_id,
        task_queue=tq,  # page: "signal-tq"
        start_signal="submit_greeting",
        start_signal_args=["User Signal with Start"],
    )
    names = await event_names(handle)
    assert names[:2] == ["WorkflowExecutionStarted", "WorkflowExecutionSignaled"], names
    sig = of_type(await events(handle), "WorkflowExecutionSignaled")[0]
    assert sig.workflow_execution_signaled_event_attributes.signal_name == "submit_greeting"

    # The Execution is already running: it is signaled, not started again.
    again = await client.start_workflow(
        GreetingWorkflow.run,
        id=workflow_id,
        task_queue=tq,
        start_signal="submit_greeting",
        start_signal_args=["Second signal"],
    )
    assert again.result_run_id == handle.result_run_id
    names = await event_names(handle)
    assert names.count("WorkflowExecutionStarted") == 1
    assert names.count("WorkflowExecutionSignaled") == 2

    async with new_worker(client, tq, [GreetingWorkflow]):
        await wait_idle(handle)
        assert await within(handle.query(GreetingWorkflow.get_submitted)) == [
            "User Signal with Start", "Second signal"]
        await handle.signal(GreetingWorkflow.approve, ApproveInput(name="me"))
        assert await result(handle) == "Hello, world"


async def test_signal_to_closed_workflow_fails(client, tq, wid):
    async with new_worker(client, tq, [GreetingWorkflow, SignalClosedWorkflowSender]):
        workflow_handle = await client.start_workflow(GreetingWorkflow.run, id=wid("target"), task_queue=tq)
        await workflow_handle.signal(GreetingWorkflow.approve, ApproveInput(name="me"))
        assert await result(workflow_handle) == "Hello, world"

        # From a client
        with pytest.raises(RPCError) as excinfo:
            await within(workflow_handle.signal(GreetingWorkflow.approve, ApproveInput(name="late")))
        assert excinfo.value.status == RPCStatusCode.NOT_FOUND, (
            excinfo.value.status, excinfo.value.message)
        assert of_type(await events(workflow_handle), "WorkflowExecutionSignaled").__len__() == 1

        # From another workflow
        sender = await client.start_workflow(
            SignalClosedWorkflowSender.run, workflow_handle.id, id=wid("sender"), task_queue=tq
        )
        outcome = await result(sender)
        assert outcome != "signal delivered"
        names = await event_names(sender)
        assert "SignalExternalWorkflowExecutionFailed" in names, names
        assert "ExternalWorkflowExecutionSignaled" not in names


# ---------------------------------------------------------------------------
# Updates
# ---------------------------------------------------------------------------


async def test_execute_update_with_validator_accepts(client, tq, wid):
    async with new_worker(client, tq, [GreetingWorkflow]):
        workflow_handle = await client.start_workflow(GreetingWorkflow.run, id=wid(), task_queue=tq)

        previous_language = await within(workflow_handle.execute_update(
            GreetingWorkflow.set_language, Language.Chinese
        ))
        assert previous_language == Language.English
        assert await within(workflow_handle.query(GreetingWorkflow.get_language)) == Language.Chinese

        evs = await events(workflow_handle)
        accepted = of_type(evs, "WorkflowExecutionUpdateAccepted")
        completed = of_type(evs, "WorkflowExecutionUpdateCompleted")
        assert len(accepted) == 1 and len(completed) == 1
        aattrs = accepted[0].workflow_execution_update_accepted_event_attributes
        assert aattrs.accepted_request.input.name == "set_language"
        assert decode(client, aattrs.accepted_request.input.args.payloads, Language) == [Language.Chinese]
        cattrs = completed[0].workflow_execution_update_completed_event_attributes
        assert cattrs.meta.update_id == aattrs.accepted_request.meta.update_id
        assert cattrs.outcome.HasField("success")
        assert decode(client, cattrs.outcome.success.payloads, Language) == [Language.English]

        await workflow_handle.signal(GreetingWorkflow.approve, ApproveInput(name="me"))
        assert await result(workflow_handle) == "你好,世界"
        assert_in_order(await event_names(workflow_handle), [
            "WorkflowExecutionUpdateAccepted", "WorkflowExecutionUpdateCompleted",
            "WorkflowExecutionSignaled", "WorkflowExecutionCompleted",
        ])


async def test_update_validator_rejection_leaves_no_history(client, tq, wid):
    async with new_worker(client, tq, [GreetingWorkflow]):
        workflow_handle = await client.start_workflow(GreetingWorkflow.run, id=wid(), task_queue=tq)
        await wait_idle(workflow_handle)

        with pytest.raises(WorkflowUpdateFailedError) as excinfo:
            await within(workflow_handle.execute_update(GreetingWorkflow.set_language, Language.French))
        cause = excinfo.value.cause
        assert isinstance(cause, ApplicationError)
        assert cause.message == "French is not supported"
        assert cause.type == "ValueError"

        # Rejected before it was written to History.
        names = await event_names(workflow_handle)
        assert not [n for n in names if n in UPDATE_EVENTS], names
        assert "WorkflowTaskFailed" not in names
        assert await within(workflow_handle.query(GreetingWorkflow.get_language)) == Language.English

        # The workflow is healthy: an accepted update still works afterwards.
        assert await within(workflow_handle.execute_update(
            GreetingWorkflow.set_language, Language.Chinese)) == Language.English
        names = await event_names(workflow_handle)
        assert names.count("WorkflowExecutionUpdateAccepted") == 1
        await workflow_handle.signal(GreetingWorkflow.approve, ApproveInput(name="me"))
        assert await result(workflow_handle) == "你好,世界"


async def test_async_update_handler_runs_activity(client, tq, wid):
    async with new_worker(client, tq, [AsyncGreetingWorkflow], [call_greeting_service]):
        handle = await client.start_workflow(AsyncGreetingWorkflow.run, id=wid(), task_queue=tq)

        # Accepted automatically (no validator), then runs an Activity.
        assert await within(handle.execute_update(
            AsyncGreetingWorkflow.set_language, Language.Arabic)) == Language.English
        assert await within(handle.query(
            AsyncGreetingWorkflow.get_languages, GetLanguagesInput(include_unsupported=False)
        )) == [Language.Chinese, Language.English, Language.Arabic]

        # Failing after acceptance: WorkflowUpdateFailedError, but the
        # Accepted event is still in history.
        with pytest.raises(WorkflowUpdateFailedError) as excinfo:
            await within(handle.execute_update(AsyncGreetingWorkflow.set_language, Language.Portuguese))
        assert isinstance(excinfo.value.cause, ApplicationError)
        assert excinfo.value.cause.message == "Greeting service does not support Portuguese"

        evs = await events(handle)
        assert len(of_type(evs, "WorkflowExecutionUpdateAccepted")) == 2
        completed = of_type(evs, "WorkflowExecutionUpdateCompleted")
        assert len(completed) == 2
        assert completed[0].workflow_execution_update_completed_event_attributes.outcome.HasField("success")
        failed_outcome = completed[1].workflow_execution_update_completed_event_attributes.outcome
        assert failed_outcome.HasField("failure")
        assert failed_outcome.failure.message == "Greeting service does not support Portuguese"
        scheduled = of_type(evs, "ActivityTaskScheduled")
        assert [e.activity_task_scheduled_event_attributes.activity_type.name for e in scheduled] == [
            "call_greeting_service", "call_greeting_service"]
        assert_in_order([event_name(e) for e in evs], [
            "WorkflowExecutionUpdateAccepted", "ActivityTaskScheduled", "ActivityTaskCompleted",
            "WorkflowExecutionUpdateCompleted",
        ])

        await handle.signal(AsyncGreetingWorkflow.approve, ApproveInput(name="me"))
        assert await result(handle) == "مرحبا بالعالم"


async def test_async_update_lock_serializes_concurrent_updates(client, tq, wid):
    async with new_worker(client, tq, [AsyncGreetingWorkflow], [call_greeting_service]):
        handle = await client.start_workflow(AsyncGreetingWorkflow.run, id=wid(), task_queue=tq)
        await wait_idle(handle)
        french, hindi = await within(asyncio.gather(
            handle.execute_update(AsyncGreetingWorkflow.set_language, Language.French),
            handle.execute_update(AsyncGreetingWorkflow.set_language, Language.Hindi),
        ))
        # Processed one after the other, in either order.
        assert (french, hindi) in [
            (Language.English, Language.French),
            (Language.Hindi, Language.English),
        ]
        names = [n for n in await event_names(handle)
                 if n in ("ActivityTaskScheduled", "ActivityTaskCompleted")]
        assert names == ["ActivityTaskScheduled", "ActivityTaskCompleted"] * 2, names
        await handle.signal(AsyncGreetingWorkflow.approve, ApproveInput(name="me"))
        assert await result(handle) in ("Bonjour, monde", "नमस्ते दुनिया")


async def test_start_update_accepted_then_result_and_get_update_handle_for(client, tq, wid):
    async with new_worker(client, tq, [HelloWorldWorkflow], [compose_greeting]):
        workflow_handle = await client.start_workflow(HelloWorldWorkflow.run, id=wid(), task_queue=tq)

        # Wait until the update is accepted
        update_handle = await within(workflow_handle.start_update(
            HelloWorldWorkflow.set_greeting,
            HelloWorldInput("World"),
            wait_for_stage=temporalio.client.WorkflowUpdateStage.ACCEPTED,
            id="set-greeting-1",
        ))
        assert update_handle.id == "set-greeting-1"
        # Accepted, but the handler is still waiting: not completed.
        names = await event_names(workflow_handle)
        assert "WorkflowExecutionUpdateAccepted" in names
        assert "WorkflowExecutionUpdateCompleted" not in names

        # workflow.current_update_info() inside the handler
        assert await within(workflow_handle.query(HelloWorldWorkflow.get_update_infos)) == [
            "set-greeting-1/set_greeting"]

        # A second handle for the in-progress Update, by Update ID
        other_handle = workflow_handle.get_update_handle_for(
            HelloWorldWorkflow.set_greeting, "set-greeting-1")

        await workflow_handle.signal(HelloWorldWorkflow.proceed)
        # Wait until the update is completed
        update_result = await within(update_handle.result())
        assert update_result == "Hello, Temporal!"
        assert await within(other_handle.result()) == "Hello, Temporal!"

        # A handle obtained after completion still fetches the outcome.
        late_handle = client.get_workflow_handle(workflow_handle.id).get_update_handle(
            "set-greeting-1", result_type=str)
        assert await within(late_handle.result()) == "Hello, Temporal!"

        await workflow_handle.signal(HelloWorldWorkflow.finish)
        assert await result(workflow_handle) == "Hello, World!"
        assert_in_order(await event_names(workflow_handle), [
            "WorkflowExecutionUpdateAccepted", "WorkflowExecutionSignaled",
            "ActivityTaskScheduled", "ActivityTaskCompleted",
            "WorkflowExecutionUpdateCompleted", "WorkflowExecutionCompleted",
        ])


async def test_update_id_deduplication(client, tq, wid):
    async with new_worker(client, tq, [HelloWorldWorkflow], [compose_greeting]):
        handle = await client.start_workflow(HelloWorldWorkflow.run, id=wid(), task_queue=tq)
        await handle.signal(HelloWorldWorkflow.proceed)
        first = await within(handle.execute_update(
            HelloWorldWorkflow.set_greeting, HelloWorldInput("World"), id="dedup-1"))
        # Same Update ID again: the server returns the first outcome instead
        # of running the handler a second time.
        again = await within(handle.execute_update(
            HelloWorldWorkflow.set_greeting, HelloWorldInput("Again"), id="dedup-1"))
        assert first == again == "Hello, Temporal!"
        names = await event_names(handle)
        assert names.count("WorkflowExecutionUpdateAccepted") == 1
        assert names.count("WorkflowExecutionUpdateCompleted") == 1
        await handle.signal(HelloWorldWorkflow.finish)
        assert await result(handle) == "Hello, World!"


async def test_update_without_worker_times_out_client_side(client, tq, wid):
    handle = await client.start_workflow(GreetingWorkflow.run, id=wid(), task_queue=tq)
    try:
        # "Your request will be retried by the SDK Client indefinitely. You can
        # use asyncio.timeout to impose a timeout."
        with pytest.raises(WorkflowUpdateRPCTimeoutOrCancelledError):
            async with asyncio.timeout(3):
                await handle.execute_update(GreetingWorkflow.set_language, Language.Chinese)
        names = await event_names(handle)
        assert not [n for n in names if n in UPDATE_EVENTS], names
    finally:
        await handle.terminate("test cleanup")


async def test_update_on_workflow_task_failure_before_acceptance(client, tq, wid):
    """"If the request hasn't been accepted by the server, you receive a
    FAILED_PRECONDITION temporalio.service.RPCError exception." """
    async with new_worker(client, tq, [FailingHandlersWorkflow]):
        handle = await client.start_workflow(FailingHandlersWorkflow.run, "", id=wid(), task_queue=tq)
        await wait_idle(handle)
        try:
            with pytest.raises(RPCError) as excinfo:
                await within(handle.execute_update(FailingHandlersWorkflow.task_failing_update), 40)
            assert excinfo.value.status == RPCStatusCode.FAILED_PRECONDITION, (
                excinfo.value.status, excinfo.value.message)
        finally:
            await handle.terminate("test cleanup")


async def test_all_handlers_finished_before_workflow_completes(client, tq, wid):
    async with new_worker(client, tq, [AllHandlersFinishedWorkflow]):
        handle = await client.start_workflow(AllHandlersFinishedWorkflow.run, id=wid(), task_queue=tq)
        update_handle = await within(handle.start_update(
            AllHandlersFinishedWorkflow.my_update, wait_for_stage=WorkflowUpdateStage.ACCEPTED))
        await handle.signal(AllHandlersFinishedWorkflow.finish)
        await wait_idle(handle)
        await asyncio.sleep(0.3)
        # run() wants to return but waits for the in-flight update handler.
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING

        await handle.signal(AllHandlersFinishedWorkflow.release)
        assert await result(handle) == "workflow-result"
        assert await within(update_handle.result()) == "update-result"
        assert_in_order(await event_names(handle), [
            "WorkflowExecutionUpdateAccepted", "WorkflowExecutionSignaled",
            "WorkflowExecutionSignaled", "WorkflowExecutionUpdateCompleted",
            "WorkflowExecutionCompleted",
        ])


def _assert_update_lost_to_workflow_completion(err: BaseException) -> None:
    print(f"update lost to workflow completion: {err!r} cause={getattr(err, 'cause', None)!r}")
    if isinstance(err, RPCError):
        # What the page says.
        assert err.status == RPCStatusCode.NOT_FOUND, (err.status, err.message)
    else:
        # What Temporal Server >= 1.24 does instead (see COMPATIBILITY.md).
        assert isinstance(err, WorkflowUpdateFailedError), repr(err)
        assert "completed before the Update completed" in str(err.cause), repr(err.cause)


async def test_update_when_workflow_finishes_during_handler(client, tq, wid):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with new_worker(client, tq, [UnfinishedHandlersWorkflow]):
            handle = await client.start_workflow(UnfinishedHandlersWorkflow.run, id=wid(), task_queue=tq)
            update_handle = await within(handle.start_update(
                UnfinishedHandlersWorkflow.my_update, wait_for_stage=WorkflowUpdateStage.ACCEPTED))
            await handle.signal(UnfinishedHandlersWorkflow.finish)
            assert await result(handle) == "finished-without-waiting"

            with pytest.raises((RPCError, WorkflowUpdateFailedError)) as excinfo:
                await within(update_handle.result())
            _assert_update_lost_to_workflow_completion(excinfo.value)

            names = await event_names(handle)
            assert names.count("WorkflowExecutionUpdateAccepted") == 1
            assert "WorkflowExecutionUpdateCompleted" not in names

            # An Update sent after the workflow closed is refused outright.
            with pytest.raises(RPCError) as excinfo:
                await within(handle.execute_update(UnfinishedHandlersWorkflow.my_update))
            assert excinfo.value.status == RPCStatusCode.NOT_FOUND, (
                excinfo.value.status, excinfo.value.message)

    # unfinished_policy=ABANDON: no warning is logged.
    assert not [w for w in caught if "UnfinishedUpdateHandlers" in type(w.message).__name__]


async def test_unfinished_update_handler_warns_by_default(client, tq, wid):
    from temporalio.workflow import UnfinishedSignalHandlersWarning, UnfinishedUpdateHandlersWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with new_worker(client, tq, [UnfinishedHandlersWorkflow]):
            handle = await client.start_workflow(UnfinishedHandlersWorkflow.run, id=wid(), task_queue=tq)
            update_handle = await within(handle.start_update(
                UnfinishedHandlersWorkflow.my_warning_update,
                wait_for_stage=WorkflowUpdateStage.ACCEPTED))
            await handle.signal(UnfinishedHandlersWorkflow.my_signal)
            await handle.signal(UnfinishedHandlersWorkflow.finish)
            assert await result(handle) == "finished-without-waiting"
            with pytest.raises((RPCError, WorkflowUpdateFailedError)) as excinfo:
                await within(update_handle.result())
            _assert_update_lost_to_workflow_completion(excinfo.value)
    categories = [w.category for w in caught]
    assert UnfinishedUpdateHandlersWarning in categories, [str(w.message) for w in caught]
    assert UnfinishedSignalHandlersWarning in categories, [str(w.message) for w in caught]


async def test_workflow_init_sees_input_before_handlers(client, tq, wid):
    # Send the Update before any worker polls, so that workflow start and
    # Update arrive in the very first workflow task.
    handle = await client.start_workflow(
        WorkflowRunSeesWorkflowInitWorkflow.get_greeting, MyWorkflowInput(name="Galahad"),
        id=wid(), task_queue=tq,
    )
    update_task = asyncio.ensure_future(handle.execute_update(
        WorkflowRunSeesWorkflowInitWorkflow.check_title_validity))
    try:
        await asyncio.sleep(0.5)
        async with new_worker(client, tq, [WorkflowRunSeesWorkflowInitWorkflow], [check_title_validity]):
            assert await within(update_task) is True
            assert await result(handle) == "Hello, Sir Galahad"
    finally:
        update_task.cancel()
    scheduled = of_type(await events(handle), "ActivityTaskScheduled")
    assert len(scheduled) == 1
    assert decode(client, scheduled[0].activity_task_scheduled_event_attributes.input.payloads, str) == [
        "Sir Galahad"]


async def test_async_signal_handlers_interleave_without_lock(client, tq, wid):
    handle = await client.start_workflow(LockWorkflow.run, 2, id=wid(), task_queue=tq)
    await handle.signal(LockWorkflow.bad_async_handler)
    await handle.signal(LockWorkflow.bad_async_handler)
    async with new_worker(client, tq, [LockWorkflow], [fetch_data]):
        await result(handle)
    names = [n for n in await event_names(handle)
             if n in ("ActivityTaskScheduled", "ActivityTaskCompleted", "TimerStarted", "TimerFired")]
    # Both handler executions ran concurrently: both activities were
    # scheduled before either finished.
    assert names[:2] == ["ActivityTaskScheduled", "ActivityTaskScheduled"], names


async def test_asyncio_lock_serializes_async_signal_handlers(client, tq, wid):
    handle = await client.start_workflow(LockWorkflow.run, 2, id=wid(), task_queue=tq)
    await handle.signal(LockWorkflow.safe_async_handler)
    await handle.signal(LockWorkflow.safe_async_handler)
    async with new_worker(client, tq, [LockWorkflow], [fetch_data]):
        x, y = await result(handle)
    assert x == y
    names = [n for n in await event_names(handle)
             if n in ("ActivityTaskScheduled", "ActivityTaskCompleted", "TimerStarted", "TimerFired")]
    assert names == ["ActivityTaskScheduled", "ActivityTaskCompleted", "TimerStarted", "TimerFired"] * 2, names


# ---------------------------------------------------------------------------
# Update-With-Start
# ---------------------------------------------------------------------------


async def handle_add_item_request(
    session_id: str, item_id: str, quantity: int, temporal_client: Client, task_queue: str
) -> Tuple[Optional[Decimal], WorkflowHandle]:
    # The page's snippet, wrapped in the function it comes from.
    cart_id = f"cart-{session_id}"
    start_op = WithStartWorkflowOperation(
        ShoppingCartWorkflow.run,
        id=cart_id,
        id_conflict_policy=common.WorkflowIDConflictPolicy.USE_EXISTING,
        task_queue=task_queue,  # page: "my-task-queue"
    )
    try:
        price = Decimal(
            await temporal_client.execute_update_with_start_workflow(
                ShoppingCartWorkflow.add_item,
                ShoppingCartItem(sku=item_id, quantity=quantity),
                start_workflow_operation=start_op,
            )
        )
    except WorkflowUpdateFailedError:
        price = None

    workflow_handle = await start_op.workflow_handle()

    return price, workflow_handle


async def test_update_with_start_lazy_init_shopping_cart(client, tq):
    session_id = uuid.uuid4().hex[:10]
    async with new_worker(client, tq, [ShoppingCartWorkflow], [get_price]):
        price, handle = await within(handle_add_item_request(session_id, "sku-123", 1, client, tq))
        assert price == Decimal("5.99")
        # The workflow exists now: the next request uses it.
        price2, handle2 = await within(handle_add_item_request(session_id, "sku-456", 2, client, tq))
        assert price2 == Decimal("7.99")
        assert handle2.id == handle.id == f"cart-{session_id}"
        assert handle2.result_run_id == handle.result_run_id
        # An item the price service does not know: the update fails.
        price3, _ = await within(handle_add_item_request(session_id, "sku-nope", 1, client, tq))
        assert price3 is None

        names = await event_names(handle)
        assert names.count("WorkflowExecutionStarted") == 1
        assert names.count("WorkflowExecutionUpdateAccepted") == 3
        assert names.count("WorkflowExecutionUpdateCompleted") == 3

        await handle.signal(ShoppingCartWorkflow.checkout)
        order = await result(handle)
        assert isinstance(order, FinalizedOrder)
        assert order.id == f"cart-{session_id}"
        assert order.total == "7.99"
        assert [item.sku for item, _ in order.items] == ["sku-123", "sku-456"]


async def test_start_update_with_start_workflow(client, tq, wid):
    async with new_worker(client, tq, [ShoppingCartWorkflow], [get_price]):
        start_op = WithStartWorkflowOperation(
            ShoppingCartWorkflow.run,
            id=wid("cart"),
            id_conflict_policy=common.WorkflowIDConflictPolicy.FAIL,
            task_queue=tq,
        )
        update_handle = await within(client.start_update_with_start_workflow(
            ShoppingCartWorkflow.add_item,
            ShoppingCartItem(sku="sku-123", quantity=2),
            start_workflow_operation=start_op,
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        ))
        assert await within(update_handle.result()) == "11.98"
        handle = await start_op.workflow_handle()
        # "a WithStartWorkflowOperation can only be used once"
        with pytest.raises(RuntimeError):
            await client.start_update_with_start_workflow(
                ShoppingCartWorkflow.add_item,
                ShoppingCartItem(sku="sku-123", quantity=1),
                start_workflow_operation=start_op,
                wait_for_stage=WorkflowUpdateStage.ACCEPTED,
            )
        await handle.signal(ShoppingCartWorkflow.checkout)
        assert (await result(handle)).total == "11.98"


# ---------------------------------------------------------------------------
# Sending messages without type safety; dynamic components
# ---------------------------------------------------------------------------


async def test_messages_without_type_safety(client, tq, wid):
    async with new_worker(client, tq, [GreetingWorkflow]):
        handle = await client.start_workflow("GreetingWorkflow", id=wid(), task_queue=tq)
        langs = await within(handle.query(
            "get_languages", GetLanguagesInput(include_unsupported=False), result_type=list[Language]))
        assert langs == [Language.Chinese, Language.English]
        prev = await within(handle.execute_update("set_language", Language.Chinese, result_type=Language))
        assert prev == Language.English
        await handle.signal("approve", ApproveInput(name="untyped"))
        assert await result(client.get_workflow_handle(handle.id)) == "你好,世界"


async def test_dynamic_workflow(client, tq, wid):
    async with new_worker(client, tq, [DynamicWorkflow], [default_greeting]):
        handle = await client.start_workflow("MyUnknownWorkflow", "Temporal", id=wid(), task_queue=tq)
        assert await result(handle) == "Hello, Temporal!"
    started = of_type(await events(handle), "WorkflowExecutionStarted")[0]
    assert started.workflow_execution_started_event_attributes.workflow_type.name == "MyUnknownWorkflow"


async def test_dynamic_activity(client, tq, wid):
    async with new_worker(client, tq, [DynamicActivityGreetingWorkflow], [dynamic_greeting]):
        handle = await client.start_workflow(
            DynamicActivityGreetingWorkflow.run, "Temporal", id=wid(), task_queue=tq)
        assert await result(handle) == "Hello, Temporal!\nActivity Type: unregistered_activity"
    scheduled = of_type(await events(handle), "ActivityTaskScheduled")
    assert [e.activity_task_scheduled_event_attributes.activity_type.name for e in scheduled] == [
        "unregistered_activity"]


async def test_dynamic_signal_query_update_handlers(client, tq, wid):
    async with new_worker(client, tq, [DynamicHandlersWorkflow]):
        handle = await client.start_workflow(DynamicHandlersWorkflow.run, id=wid(), task_queue=tq)
        await handle.signal("some-name", "my_arg")
        await wait_idle(handle)
        assert await within(handle.query("any_query_name")) == "any_query_name: 1 signals"
        assert await within(handle.execute_update("double_it", 21)) == "double_it: 42"
        await handle.signal("finish", "now")
        assert await result(handle) == ["some-name=my_arg", "finish=now"]
    evs = await events(handle)
    assert [e.workflow_execution_signaled_event_attributes.signal_name
            for e in of_type(evs, "WorkflowExecutionSignaled")] == ["some-name", "finish"]
    accepted = of_type(evs, "WorkflowExecutionUpdateAccepted")
    assert [e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
            for e in accepted] == ["double_it"]
