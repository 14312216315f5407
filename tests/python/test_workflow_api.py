"""Seed 001: the temporalio.workflow API reference, run against Sundial."""

import asyncio
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
)
from temporalio.common import RetryPolicy, SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

import seed_workflow_api as api
from helpers import (
    assert_in_order,
    event_name,
    event_names,
    events,
    new_worker,
    of_type,
    result,
    wait_for_event,
    wait_until,
    within,
)


def decode(client, payloads, type_hint=None):
    return [client.data_converter.payload_converter.from_payload(p, type_hint) for p in payloads]


async def wait_idle(handle):
    async def idle() -> bool:
        names = await event_names(handle)
        sched = names.count("WorkflowTaskScheduled")
        return sched > 0 and sched == names.count("WorkflowTaskCompleted")

    await wait_until(idle, what=f"{handle.id} to have no pending workflow task")


async def wait_status(client, workflow_id, status, timeout=30.0):
    handle = client.get_workflow_handle(workflow_id)

    async def check() -> bool:
        return (await handle.describe()).status == status

    await wait_until(check, timeout, what=f"{workflow_id} to become {status.name}")


# ---------------------------------------------------------------------------
# defn / run / init
# ---------------------------------------------------------------------------


async def test_defn_default_and_custom_name_unsandboxed(client, tq, wid):
    async with new_worker(client, tq, [api.MyWorkflow, api.CustomWorkflow]):
        assert await within(client.execute_workflow(
            api.MyWorkflow.run, "World", id=wid("my"), task_queue=tq)) == "Hello, World!"
        handle = await client.start_workflow("CustomWorkflow", id=wid("custom"), task_queue=tq)
        assert await result(handle) == "Custom workflow"
    started = (await events(handle))[0].workflow_execution_started_event_attributes
    assert started.workflow_type.name == "CustomWorkflow"


async def test_workflow_init_receives_input(client, tq, wid):
    async with new_worker(client, tq, [api.InitExampleWorkflow]):
        assert await within(client.execute_workflow(
            api.InitExampleWorkflow.run, "init", id=wid(), task_queue=tq)) == "Hello, init!"


async def test_start_activity_handle_and_execute_activity(client, tq, wid):
    async with new_worker(client, tq, [api.StartActivityWorkflow], [api.my_activity]):
        handle = await client.start_workflow(api.StartActivityWorkflow.run, "Temporal", id=wid(), task_queue=tq)
        assert await result(handle) == ["Hello, Temporal!", "Hello, World!", "Hello, config!", True]
    scheduled = [e.activity_task_scheduled_event_attributes for e in of_type(await events(handle), "ActivityTaskScheduled")]
    assert [s.activity_type.name for s in scheduled] == ["my_activity"] * 3
    assert scheduled[0].schedule_to_close_timeout.ToTimedelta() == timedelta(minutes=5)
    assert scheduled[2].start_to_close_timeout.ToTimedelta() == timedelta(seconds=10)


# ---------------------------------------------------------------------------
# signal / query / update decorators
# ---------------------------------------------------------------------------


async def test_signal_query_update_decorators_and_names(client, tq, wid):
    async with new_worker(client, tq, [api.MessagesWorkflow]):
        handle = await client.start_workflow(api.MessagesWorkflow.run, id=wid(), task_queue=tq)
        await handle.signal(api.MessagesWorkflow.add_message, "first")
        await handle.signal("custom_signal", {"kind": "custom"})
        await wait_idle(handle)
        assert await within(handle.query(api.MessagesWorkflow.get_status)) == "running"
        assert await within(handle.query("message_count")) == 1
        assert await within(handle.query(api.MessagesWorkflow.get_message_count)) == 1
        assert await within(handle.execute_update(api.MessagesWorkflow.increment_value, 5)) == 5
        assert await within(handle.execute_update(api.MessagesWorkflow.increment_value, 2)) == 7
        assert await within(handle.execute_update("set_value", 42)) == 42

        # Descriptions reach the built-in metadata query.
        meta = await within(handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata))
        d = meta.definition
        assert d.type == "MessagesWorkflow"
        assert {s.name: s.description for s in d.signal_definitions}["custom_signal"] == "Custom signal handler"
        assert {q.name: q.description for q in d.query_definitions}["message_count"] == "Get number of messages"
        assert {u.name: u.description for u in d.update_definitions}["set_value"] == "Set the workflow value"

        await handle.signal(api.MessagesWorkflow.add_message, "stop")
        assert await result(handle) == {
            "messages": ["first", "stop"], "custom": [{"kind": "custom"}], "value": 42}
    evs = await events(handle)
    assert [e.workflow_execution_signaled_event_attributes.signal_name
            for e in of_type(evs, "WorkflowExecutionSignaled")] == ["add_message", "custom_signal", "add_message"]
    assert [e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
            for e in of_type(evs, "WorkflowExecutionUpdateAccepted")] == [
        "increment_value", "increment_value", "set_value"]


async def test_handlers_registered_at_run_time(client, tq, wid):
    handle = await client.start_workflow(api.RuntimeHandlersWorkflow.run, id=wid(), task_queue=tq)
    # Sent before any handler exists: buffered until set_signal_handler.
    await handle.signal("custom_signal", "early")
    async with new_worker(client, tq, [api.RuntimeHandlersWorkflow]):
        await wait_idle(handle)
        assert await within(handle.query("custom_query", "status")) == "Query response for status"
        assert await within(handle.execute_update("custom_update", 41)) == 42
        with pytest.raises(WorkflowUpdateFailedError) as excinfo:
            await within(handle.execute_update("custom_update", -1))
        assert "negative values are rejected" in str(excinfo.value.cause)
        await handle.signal("something_else", "x")
        assert await within(handle.query("any_query")) == "dynamic query any_query"
        assert await within(handle.execute_update("any_update", 1)) == "dynamic update any_update"
        await handle.signal(api.RuntimeHandlersWorkflow.finish)
        out = await result(handle)
    assert out["received"] == ["early", "dynamic:something_else"]
    assert out["found"] == {"signal": True, "query": True, "update": True, "dynamic": True, "unset": True}


# ---------------------------------------------------------------------------
# info(), parent/root, attempt
# ---------------------------------------------------------------------------


async def test_info_fields_parent_and_root(client, tq, wid):
    workflow_id = wid("root")
    async with new_worker(client, tq, [api.InfoWorkflow]):
        handle = await client.start_workflow(
            api.InfoWorkflow.run, 2, id=workflow_id, task_queue=tq,
            execution_timeout=timedelta(minutes=5), memo={"user": "u-1"},
        )
        infos = await result(handle)
    root, child, grandchild = infos
    desc = await handle.describe()

    assert root["namespace"] == "default"
    assert root["workflow_id"] == workflow_id
    assert root["run_id"] == handle.result_run_id == desc.run_id
    assert root["first_execution_run_id"] == root["run_id"]
    assert root["workflow_type"] == "InfoWorkflow"
    assert root["task_queue"] == tq
    assert root["attempt"] == 1
    assert not root["cron_schedule"]
    assert root["continued_run_id"] is None
    assert root["parent"] is None and root["root"] is None
    assert root["execution_timeout"] == 300
    assert root["task_timeout"] == 10  # the default workflow task timeout
    assert root["memo_keys"] == ["user"] and root["memo_user"] == "u-1"
    assert abs(root["start_time"] - desc.start_time.timestamp()) < 1
    assert root["now_is_utc"] and root["in_workflow"] and root["instance_is_self"]
    assert 0 <= root["now"] - root["start_time"] < 10
    assert abs(root["time"] - root["now"]) < 0.001
    assert abs(root["time_ns"] / 1e9 - root["now"]) < 0.001

    assert child["workflow_id"] == f"{workflow_id}-child"
    assert child["task_queue"] == tq  # children default to the parent's queue
    assert child["parent"] == {"namespace": "default", "workflow_id": workflow_id, "run_id": root["run_id"]}
    assert child["root"] == {"workflow_id": workflow_id, "run_id": root["run_id"]}
    assert grandchild["parent"] == {"namespace": "default", "workflow_id": child["workflow_id"], "run_id": child["run_id"]}
    assert grandchild["root"] == {"workflow_id": workflow_id, "run_id": root["run_id"]}
    assert not api.workflow.in_workflow()  # outside a workflow


async def test_info_attempt_with_workflow_retry(client, tq, wid):
    async with new_worker(client, tq, [api.RetriedWorkflow]):
        handle = await client.start_workflow(
            api.RetriedWorkflow.run, id=wid(), task_queue=tq,
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=2),
        )
        assert await result(handle) == {"attempt": 2, "max_attempts": 2}


# ---------------------------------------------------------------------------
# Child workflows
# ---------------------------------------------------------------------------


async def test_child_workflow_result_and_history(client, tq, wid):
    child_tq = f"{tq}-child-queue"
    child_id = wid("child-workflow-123")
    async with new_worker(client, tq, [api.ParentWorkflow]), \
            new_worker(client, child_tq, [api.ChildWorkflow]):
        handle = await client.start_workflow(api.ParentWorkflow.run, args=[child_id, child_tq], id=wid("parent"), task_queue=tq)
        out = await result(handle)
    assert out["result"] == "Processed: input data"
    assert out["id"] == child_id
    evs = await events(handle)
    assert_in_order([event_name(e) for e in evs], [
        "StartChildWorkflowExecutionInitiated", "ChildWorkflowExecutionStarted",
        "ChildWorkflowExecutionCompleted", "WorkflowExecutionCompleted",
    ])
    initiated = of_type(evs, "StartChildWorkflowExecutionInitiated")[0].start_child_workflow_execution_initiated_event_attributes
    assert initiated.workflow_id == child_id and initiated.task_queue.name == child_tq
    started = of_type(evs, "ChildWorkflowExecutionStarted")[0].child_workflow_execution_started_event_attributes
    assert started.workflow_execution.run_id == out["first_execution_run_id"]
    child_desc = await client.get_workflow_handle(child_id).describe()
    assert child_desc.status == WorkflowExecutionStatus.COMPLETED
    assert child_desc.parent_id == handle.id
    assert await child_desc.memo() == {"started_by": "parent"}
    assert child_desc.typed_search_attributes.get(api.KEYWORD) == "child-keyword"


async def test_child_workflow_signal(client, tq, wid):
    async with new_worker(client, tq, [api.ChildScenariosParent, api.WaitingChild]):
        handle = await client.start_workflow(api.ChildScenariosParent.run, args=["signal", wid("p")], id=wid(), task_queue=tq)
        assert await result(handle) == "released after hello,release"
    names = await event_names(handle)
    assert names.count("SignalExternalWorkflowExecutionInitiated") == 2
    assert names.count("ExternalWorkflowExecutionSignaled") == 2


async def test_child_workflow_cancel(client, tq, wid):
    prefix = wid("p")
    async with new_worker(client, tq, [api.ChildScenariosParent, api.WaitingChild]):
        handle = await client.start_workflow(api.ChildScenariosParent.run, args=["cancel", prefix], id=wid(), task_queue=tq)
        assert await result(handle) == "ChildWorkflowError/CancelledError"
    names = await event_names(handle)
    assert_in_order(names, [
        "ChildWorkflowExecutionStarted", "RequestCancelExternalWorkflowExecutionInitiated",
        "ExternalWorkflowExecutionCancelRequested", "ChildWorkflowExecutionCanceled",
    ])
    child = client.get_workflow_handle(f"{prefix}-child")
    assert (await child.describe()).status == WorkflowExecutionStatus.CANCELED
    assert_in_order(await event_names(child), ["WorkflowExecutionCancelRequested", "WorkflowExecutionCanceled"])


async def test_child_workflow_failure_propagates(client, tq, wid):
    async with new_worker(client, tq, [api.ChildScenariosParent, api.FailingChild]):
        handle = await client.start_workflow(api.ChildScenariosParent.run, args=["fail", wid("p")], id=wid(), task_queue=tq)
        assert await result(handle) == "ApplicationError/child failed/ChildBroke"
    assert "ChildWorkflowExecutionFailed" in await event_names(handle)


async def test_child_workflow_execution_timeout(client, tq, wid):
    prefix = wid("p")
    async with new_worker(client, tq, [api.ChildScenariosParent, api.WaitingChild]):
        handle = await client.start_workflow(api.ChildScenariosParent.run, args=["timeout", prefix], id=wid(), task_queue=tq)
        assert await result(handle) == "TimeoutError/START_TO_CLOSE"
    assert "ChildWorkflowExecutionTimedOut" in await event_names(handle)
    assert (await client.get_workflow_handle(f"{prefix}-child").describe()).status == WorkflowExecutionStatus.TIMED_OUT


async def test_parent_close_policy(client, tq, wid):
    prefix = wid("p")
    async with new_worker(client, tq, [api.ChildScenariosParent, api.WaitingChild]):
        handle = await client.start_workflow(api.ChildScenariosParent.run, args=["close", prefix], id=wid(), task_queue=tq)
        ids = await result(handle)
        assert ids == [f"{prefix}-TERMINATE", f"{prefix}-ABANDON", f"{prefix}-REQUEST_CANCEL"]
        await wait_status(client, f"{prefix}-TERMINATE", WorkflowExecutionStatus.TERMINATED)
        await wait_status(client, f"{prefix}-REQUEST_CANCEL", WorkflowExecutionStatus.CANCELED)
        abandoned = client.get_workflow_handle(f"{prefix}-ABANDON")
        assert (await abandoned.describe()).status == WorkflowExecutionStatus.RUNNING
        # The abandoned child lives on and still works.
        await abandoned.signal(api.WaitingChild.child_signal, "release")
        assert await result(abandoned) == "released after release"


# ---------------------------------------------------------------------------
# External workflow handles; workflow cancellation
# ---------------------------------------------------------------------------


async def test_external_workflow_handle_signal_and_cancel(client, tq, wid):
    target_id = wid("external-workflow-id")
    async with new_worker(client, tq, [api.ExternalTarget, api.ExternalSender]):
        target = await client.start_workflow(api.ExternalTarget.run, id=target_id, task_queue=tq)
        sender = await client.start_workflow(api.ExternalSender.run, target_id, id=wid("sender"), task_queue=tq)
        assert await result(sender) == {"id": target_id, "run_id": None}
        with pytest.raises(WorkflowFailureError) as excinfo:
            await result(target)
        assert isinstance(excinfo.value.cause, CancelledError)
        assert (await target.describe()).status == WorkflowExecutionStatus.CANCELED
        assert await within(target.query(api.ExternalTarget.get_received)) == ["signal_data"]
        assert await within(target.query(api.ExternalTarget.was_cancelled)) is True
    assert_in_order(await event_names(sender), [
        "SignalExternalWorkflowExecutionInitiated", "ExternalWorkflowExecutionSignaled",
        "RequestCancelExternalWorkflowExecutionInitiated", "ExternalWorkflowExecutionCancelRequested",
        "WorkflowExecutionCompleted",
    ])
    assert_in_order(await event_names(target), [
        "WorkflowExecutionSignaled", "WorkflowExecutionCancelRequested", "WorkflowExecutionCanceled",
    ])


async def test_cancel_workflow_from_client(client, tq, wid):
    async with new_worker(client, tq, [api.ExternalTarget]):
        handle = await client.start_workflow(api.ExternalTarget.run, id=wid(), task_queue=tq)
        await wait_idle(handle)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as excinfo:
            await result(handle)
        assert isinstance(excinfo.value.cause, CancelledError)
    assert_in_order(await event_names(handle), ["WorkflowExecutionCancelRequested", "WorkflowExecutionCanceled"])


# ---------------------------------------------------------------------------
# continue_as_new
# ---------------------------------------------------------------------------


async def test_continue_as_new_page_example(client, tq, wid):
    async with new_worker(client, tq, [api.IterationWorkflow]):
        handle = await client.start_workflow(api.IterationWorkflow.run, 97, id=wid(), task_queue=tq)
        assert await result(handle) == "Completed after 100 iterations"
    first_run = client.get_workflow_handle(handle.id, run_id=handle.result_run_id)
    evs = await events(first_run)
    assert event_name(evs[-1]) == "WorkflowExecutionContinuedAsNew"
    can = evs[-1].workflow_execution_continued_as_new_event_attributes
    assert decode(client, can.input.payloads, int) == [98]
    assert can.new_execution_run_id
    assert (await first_run.describe()).status == WorkflowExecutionStatus.CONTINUED_AS_NEW
    latest = client.get_workflow_handle(handle.id)
    latest_desc = await latest.describe()
    assert latest_desc.status == WorkflowExecutionStatus.COMPLETED
    assert latest_desc.run_id != handle.result_run_id
    # Four runs: 97, 98, 99, 100.
    runs = [w async for w in client.list_workflows(f"WorkflowId = '{handle.id}'")]
    assert len(runs) == 4


async def test_continue_as_new_after_update_handlers_finish(client, tq, wid):
    async with new_worker(client, tq, [api.ContinueWithUpdatesWorkflow]):
        handle = await client.start_workflow(
            api.ContinueWithUpdatesWorkflow.run, api.CanState(run=0, seen=[]), id=wid(), task_queue=tq)
        first_run_id = handle.result_run_id
        r1 = await within(handle.execute_update(api.ContinueWithUpdatesWorkflow.add, "a"))
        assert r1 == f"run {first_run_id} got a"
        await wait_for_event(client.get_workflow_handle(handle.id, run_id=first_run_id),
                             "WorkflowExecutionContinuedAsNew")
        # The same workflow id now addresses the new run.
        r2 = await within(client.get_workflow_handle(handle.id).execute_update(
            api.ContinueWithUpdatesWorkflow.add, "b"))
        assert r2.endswith(" got b") and first_run_id not in r2
        out = await within(client.get_workflow_handle(handle.id, run_id=first_run_id).result(follow_runs=True))
    assert out["seen"] == ["a", "b"]
    assert out["first_execution_run_id"] == first_run_id
    assert out["continued_run_id"] and out["continued_run_id"] != first_run_id
    assert out["memo_run"] == 2
    first_names = await event_names(client.get_workflow_handle(handle.id, run_id=first_run_id))
    assert_in_order(first_names, [
        "WorkflowExecutionUpdateAccepted", "WorkflowExecutionUpdateCompleted",
        "WorkflowExecutionContinuedAsNew"])


# ---------------------------------------------------------------------------
# Timers
# ---------------------------------------------------------------------------


async def test_sleep_timers_and_wait_condition_timeout(client, tq, wid):
    async with new_worker(client, tq, [api.TimerWorkflow]):
        handle = await client.start_workflow(api.TimerWorkflow.run, id=wid(), task_queue=tq)
        await wait_for_event(handle, "TimerFired", 3)
        await wait_for_event(handle, "TimerStarted", 4)
        await handle.signal(api.TimerWorkflow.proceed)
        out = await result(handle)
    assert out["sleep"] >= 0.5 and out["asyncio_sleep"] >= 0.3 and out["timed_out"] is True, out
    evs = await events(handle)
    started = of_type(evs, "TimerStarted")
    assert [e.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta() for e in started[:3]] == [
        timedelta(seconds=0.5), timedelta(seconds=0.3), timedelta(seconds=0.3)]
    assert len(started) == 4
    assert len(of_type(evs, "TimerFired")) == 3
    assert len(of_type(evs, "TimerCanceled")) == 1


# ---------------------------------------------------------------------------
# patched / deprecate_patch
# ---------------------------------------------------------------------------


async def test_patched_and_deprecate_patch(client, tq, wid):
    # No workflow cache: every workflow task replays from history, so the
    # next worker version sees exactly what the server stored.
    nocache = dict(max_cached_workflows=0)
    async with new_worker(client, tq, [api.PatchedWorkflowV1], **nocache):
        old = await client.start_workflow("PatchedWorkflow", id=wid("old"), task_queue=tq)
        await wait_idle(old)

    async with new_worker(client, tq, [api.PatchedWorkflowV2], **nocache):
        new = await client.start_workflow("PatchedWorkflow", id=wid("new"), task_queue=tq)
        await wait_idle(new)
        for h in (old, new):
            await h.signal("proceed")
        # Started before the patch: keeps the old path on replay.
        assert await result(old) == "v2-old-path"
        assert await result(new) == "v2-new"
        mid = await client.start_workflow("PatchedWorkflow", id=wid("mid"), task_queue=tq)
        await wait_idle(mid)

    markers = of_type(await events(new), "MarkerRecorded")
    assert len(markers) == 1
    assert markers[0].marker_recorded_event_attributes.marker_name == "core_patch"
    assert b"feature_v2" in markers[0].marker_recorded_event_attributes.SerializeToString()
    assert not of_type(await events(old), "MarkerRecorded")

    async with new_worker(client, tq, [api.PatchedWorkflowV3], **nocache):
        # A history with the patch marker replays fine with deprecate_patch.
        await mid.signal("proceed")
        assert await result(mid) == "v3"
        newest = await client.start_workflow("PatchedWorkflow", id=wid("newest"), task_queue=tq)
        await newest.signal("proceed")
        assert await result(newest) == "v3"
    assert "WorkflowTaskFailed" not in await event_names(mid)


# ---------------------------------------------------------------------------
# memo / search attributes
# ---------------------------------------------------------------------------


async def test_memo_and_upsert_memo(client, tq, wid):
    async with new_worker(client, tq, [api.MemoWorkflow]):
        handle = await client.start_workflow(
            api.MemoWorkflow.run, id=wid(), task_queue=tq, memo={"user_id": "u-1", "team": "core"})
        await wait_idle(handle)
        assert await (await handle.describe()).memo() == {
            "user_id": "u-1", "team": "core", "status": "processing", "progress": 0.5}
        await handle.signal(api.MemoWorkflow.proceed)
        out = await result(handle)
    assert out["initial"] == {"user_id": "u-1", "team": "core"}
    assert out["user_id"] == "u-1" and out["absent"] == "unknown" and out["key_error"] is True
    assert out["after_upsert"] == {"user_id": "u-1", "team": "core", "status": "processing", "progress": 0.5}
    assert out["final"] == {"user_id": "u-1", "team": "core", "status": "done"}
    assert await (await handle.describe()).memo() == {"user_id": "u-1", "team": "core", "status": "done"}
    modified = of_type(await events(handle), "WorkflowPropertiesModified")
    assert len(modified) == 2
    assert set(modified[0].workflow_properties_modified_event_attributes.upserted_memo.fields) == {"status", "progress"}


async def test_upsert_search_attributes(client, tq, wid):
    async with new_worker(client, tq, [api.SearchAttributesWorkflow]):
        handle = await client.start_workflow(
            api.SearchAttributesWorkflow.run, id=wid(), task_queue=tq,
            search_attributes=TypedSearchAttributes([SearchAttributePair(api.KEYWORD, "initial")]),
        )
        await wait_idle(handle)
        sa = (await handle.describe()).typed_search_attributes
        assert sa.get(api.KEYWORD) == "active"
        assert sa.get(api.INT) == 42
        assert sa.get(api.BOOL) is True
        assert sa.get(api.DOUBLE) == 1.5
        assert sa.get(api.TEXT) == "engineering department"
        assert isinstance(sa.get(api.DATETIME), datetime)
        await handle.signal(api.SearchAttributesWorkflow.proceed)
        out = await result(handle)
    assert out["initial"] == "initial"
    assert out["after"] == {"keyword": "active", "int": 42, "bool": True, "double": 1.5,
                            "text": "engineering department", "datetime_set": True}
    assert out["int_after_unset"] is None
    final = (await handle.describe()).typed_search_attributes
    assert final.get(api.INT) is None and final.get(api.KEYWORD) == "active"
    evs = await events(handle)
    assert len(of_type(evs, "UpsertWorkflowSearchAttributes")) == 2
    started = evs[0].workflow_execution_started_event_attributes
    assert "CustomKeywordField" in started.search_attributes.indexed_fields


# ---------------------------------------------------------------------------
# Determinism across replay
# ---------------------------------------------------------------------------


async def test_uuid4_random_now_are_deterministic_on_replay(client, tq, wid):
    async with new_worker(client, tq, [api.DeterminismWorkflow], max_cached_workflows=0):
        handle = await client.start_workflow(api.DeterminismWorkflow.run, id=wid(), task_queue=tq)
        values = await result(handle)
    history = await within(handle.fetch_history())
    replay = await within(Replayer(workflows=[api.DeterminismWorkflow]).replay_workflow(history))
    assert replay.replay_failure is None
    observed = api.OBSERVED[handle.result_run_id]
    # The worker's own execution plus the Replayer's (which is replaying).
    assert observed[0] == (False, values)
    assert observed[-1] == (True, values)
    assert values["first"]["uuid"] != values["second"]["uuid"]
    # workflow.now() is the workflow task time from history, not the wall clock.
    assert datetime.fromisoformat(values["first"]["now"]) <= datetime.fromisoformat(values["second"]["now"])

    # Changed workflow code does not match the recorded history.
    with pytest.raises(NondeterminismError):
        await within(Replayer(workflows=[api.DeterminismWorkflowChanged]).replay_workflow(history))


# ---------------------------------------------------------------------------
# as_completed, current details, local activities
# ---------------------------------------------------------------------------


async def test_as_completed(client, tq, wid):
    async with new_worker(client, tq, [api.AsCompletedWorkflow], [api.sleep_then_return]):
        assert await within(client.execute_workflow(
            api.AsCompletedWorkflow.run, id=wid(), task_queue=tq)) == ["b", "c", "a"]


async def test_set_and_get_current_details(client, tq, wid):
    async with new_worker(client, tq, [api.DetailsWorkflow]):
        handle = await client.start_workflow(api.DetailsWorkflow.run, id=wid(), task_queue=tq)
        await wait_idle(handle)
        meta = await within(handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata))
        assert meta.current_details == "Processing user data"
        await handle.signal(api.DetailsWorkflow.advance)
        await wait_idle(handle)
        meta = await within(handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata))
        assert meta.current_details == "Sending notifications"
        await handle.signal(api.DetailsWorkflow.advance)
        assert await result(handle) == "Sending notifications"


async def test_local_activities(client, tq, wid):
    async with new_worker(client, tq, [api.LocalActivityWorkflow], [api.local_activity, api.flaky_local_activity]):
        handle = await client.start_workflow(api.LocalActivityWorkflow.run, id=wid(), task_queue=tq)
        assert await result(handle) == ["HELLO WORLD", 3]
    evs = await events(handle)
    markers = of_type(evs, "MarkerRecorded")
    assert len(markers) == 2
    assert {m.marker_recorded_event_attributes.marker_name for m in markers} == {"core_local_activity"}
    assert not of_type(evs, "ActivityTaskScheduled")


# ---------------------------------------------------------------------------
# Activity heartbeats and cancellation
# ---------------------------------------------------------------------------


async def test_heartbeat_details_survive_retry(client, tq, wid):
    async with new_worker(client, tq, [api.HeartbeatWorkflow], [api.resumable_activity]):
        out = await within(client.execute_workflow(api.HeartbeatWorkflow.run, "resume", id=wid(), task_queue=tq))
    assert out == {"ok": True, "value": {"attempt": 2, "resumed_from": 3}}, out


async def test_heartbeat_timeout(client, tq, wid):
    async with new_worker(client, tq, [api.HeartbeatWorkflow], [api.stops_heartbeating],
                          graceful_shutdown_timeout=timedelta(seconds=0)):
        handle = await client.start_workflow(api.HeartbeatWorkflow.run, "timeout", id=wid(), task_queue=tq)
        out = await result(handle)
    assert out["ok"] is False, out
    assert out["cause_class"] == "TimeoutError" and out["timeout_type"] == "HEARTBEAT", out
    assert out["last_heartbeat_details"] == ["alive"], out
    assert len(of_type(await events(handle), "ActivityTaskTimedOut")) == 1


@pytest.mark.parametrize("cancellation_type", ["TRY_CANCEL", "WAIT_CANCELLATION_COMPLETED", "ABANDON"])
async def test_activity_cancellation(client, tq, wid, cancellation_type):
    key = uuid.uuid4().hex
    async with new_worker(client, tq, [api.ActivityCancelWorkflow], [api.cancellable_activity],
                          graceful_shutdown_timeout=timedelta(seconds=0)):
        handle = await client.start_workflow(
            api.ActivityCancelWorkflow.run, args=[key, cancellation_type], id=wid(), task_queue=tq)
        assert await result(handle) == "ActivityError/CancelledError"
        names = await event_names(handle)
        if cancellation_type == "ABANDON":
            assert "ActivityTaskCancelRequested" not in names, names
        else:
            assert "ActivityTaskCancelRequested" in names, names

            async def seen() -> bool:
                return api.CANCELLED_ACTIVITIES.get(key, False)

            # The running activity learns about the cancellation (via its heartbeat).
            await wait_until(seen, 15, what="the activity to observe cancellation")
        if cancellation_type == "WAIT_CANCELLATION_COMPLETED":
            assert_in_order(names, ["ActivityTaskCancelRequested", "ActivityTaskCanceled", "WorkflowExecutionCompleted"])


# ---------------------------------------------------------------------------
# failure_exception_types; class-based activities
# ---------------------------------------------------------------------------


async def test_failure_exception_types(client, tq, wid):
    async with new_worker(client, tq, [api.FailureTypesWorkflow, api.TaskFailureWorkflow]):
        failing = await client.start_workflow(api.FailureTypesWorkflow.run, id=wid("fails"), task_queue=tq)
        with pytest.raises(WorkflowFailureError) as excinfo:
            await result(failing)
        assert isinstance(excinfo.value.cause, ApplicationError)
        assert excinfo.value.cause.type == "ValueError"

        # Without failure_exception_types the same exception fails the
        # workflow task (retried), and the workflow keeps running.
        suspended = await client.start_workflow(api.TaskFailureWorkflow.run, id=wid("task"), task_queue=tq)
        failed_tasks = await wait_for_event(suspended, "WorkflowTaskFailed")
        assert "this only fails the workflow task" in failed_tasks[0].workflow_task_failed_event_attributes.failure.message
        assert (await suspended.describe()).status == WorkflowExecutionStatus.RUNNING
        await suspended.terminate("test cleanup")
        assert (await suspended.describe()).status == WorkflowExecutionStatus.TERMINATED
    assert (await event_names(failing))[-1] == "WorkflowExecutionFailed"
    assert (await event_names(suspended))[-1] == "WorkflowExecutionTerminated"


async def test_activity_method_and_callable_class(client, tq, wid):
    async with new_worker(client, tq, [api.ClassActivitiesWorkflow],
                          [api.GreetingActivities("Good day").greet, api.CallableGreeter("!")]):
        assert await within(client.execute_workflow(
            api.ClassActivitiesWorkflow.run, "Ada", id=wid(), task_queue=tq)) == ["Good day, Ada!", "Hi Ada!"]


# ---------------------------------------------------------------------------
# Nexus
# ---------------------------------------------------------------------------


async def test_nexus_operation_from_workflow(client, tq, wid):
    from temporalio.api.nexus.v1 import EndpointSpec, EndpointTarget
    from temporalio.api.operatorservice.v1 import CreateNexusEndpointRequest

    endpoint = f"ep-{uuid.uuid4().hex[:12]}"
    await within(client.operator_service.create_nexus_endpoint(CreateNexusEndpointRequest(
        spec=EndpointSpec(name=endpoint, target=EndpointTarget(
            worker=EndpointTarget.Worker(namespace="default", task_queue=tq))))))
    async with new_worker(client, tq, [api.NexusCallerWorkflow],
                          nexus_service_handlers=[api.GreetingServiceHandler()]):
        handle = await client.start_workflow(
            api.NexusCallerWorkflow.run, args=[endpoint, "Ada"], id=wid(), task_queue=tq)
        assert await result(handle) == "Hello, Ada (via Nexus)"
    assert_in_order(await event_names(handle), [
        "NexusOperationScheduled", "NexusOperationCompleted", "WorkflowExecutionCompleted"])
