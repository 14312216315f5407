"""Standalone activities through the Python SDK: Client.start_activity /
execute_activity run an activity without a workflow on an ordinary worker
(sdk-core's activity poller), with retries, heartbeats, cancel, terminate,
describe, list and count."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from temporalio import activity
from temporalio.client import ActivityExecutionStatus
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityAlreadyStartedError, ApplicationError, CancelledError, TerminatedError

from helpers import new_worker, wait_until, within

_calls: dict[str, int] = {}


@activity.defn
async def sa_greet(name: str) -> str:
    info = activity.info()
    assert info.workflow_id in (None, ""), info
    return f"hello {name} (attempt {info.attempt})"


@activity.defn
async def sa_flaky(key: str) -> int:
    _calls[key] = _calls.get(key, 0) + 1
    if activity.info().attempt < 3:
        raise ApplicationError(f"attempt {activity.info().attempt} failed")
    return activity.info().attempt


@activity.defn
async def sa_beat(key: str) -> str:
    if activity.info().attempt == 1:
        activity.heartbeat(41)
        await asyncio.sleep(0.2)
        raise ApplicationError("crash after progress")
    (n,) = activity.info().heartbeat_details
    return f"resumed from {n}"


@activity.defn
async def sa_wait_cancel() -> str:
    _calls["wait_cancel_started"] = 1
    while True:
        activity.heartbeat()
        await asyncio.sleep(0.05)


def _id(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


async def test_standalone_activity_success_and_describe(client, tq):
    async with new_worker(client, tq, activities=[sa_greet]):
        h = await client.start_activity(sa_greet, "python", id=_id("greet"), task_queue=tq,
                                        start_to_close_timeout=timedelta(seconds=10))
        assert await within(h.result()) == "hello python (attempt 1)"
        d = await h.describe(include_input=True, include_outcome=True)
        assert d.status == ActivityExecutionStatus.COMPLETED
        assert d.attempt == 1 and d.activity_type == "sa_greet" and d.task_queue == tq


async def test_standalone_activity_retries(client, tq):
    key = _id("flaky")
    async with new_worker(client, tq, activities=[sa_flaky]):
        n = await within(client.execute_activity(
            sa_flaky, key, id=key, task_queue=tq, start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=50), maximum_attempts=5)))
        assert n == 3 and _calls[key] == 3
        h = client.get_activity_handle(key)
        d = await h.describe()
        assert d.attempt == 3


async def test_standalone_activity_failure(client, tq):
    async with new_worker(client, tq, activities=[sa_flaky]):
        h = await client.start_activity(
            sa_flaky, _id("k"), id=_id("fail"), task_queue=tq, start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=50), maximum_attempts=2))
        with pytest.raises(Exception) as ei:
            await within(h.result())
        chain = [ei.value] + ([ei.value.cause] if getattr(ei.value, "cause", None) else [])
        assert any("attempt 2 failed" in str(e) for e in chain), chain
        d = await h.describe()
        assert d.status == ActivityExecutionStatus.FAILED and d.attempt == 2


async def test_standalone_activity_heartbeat_details(client, tq):
    async with new_worker(client, tq, activities=[sa_beat]):
        r = await within(client.execute_activity(
            sa_beat, "x", id=_id("beat"), task_queue=tq, start_to_close_timeout=timedelta(seconds=10),
            heartbeat_timeout=timedelta(seconds=5),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100))))
        assert r == "resumed from 41"


async def test_standalone_activity_cancel_and_terminate(client, tq):
    _calls.pop("wait_cancel_started", None)
    async with new_worker(client, tq, activities=[sa_wait_cancel]):
        h = await client.start_activity(sa_wait_cancel, id=_id("cancel"), task_queue=tq,
                                        start_to_close_timeout=timedelta(seconds=30),
                                        heartbeat_timeout=timedelta(seconds=2))
        async def started() -> bool:
            return _calls.get("wait_cancel_started") == 1

        await wait_until(started, what="the activity to start")
        await h.cancel(reason="enough")
        with pytest.raises(Exception) as ei:
            await within(h.result())
        assert isinstance(ei.value, CancelledError) or isinstance(getattr(ei.value, "cause", None), CancelledError), ei.value
        assert (await h.describe()).status == ActivityExecutionStatus.CANCELED

    # No worker on this queue: terminated while scheduled.
    h = await client.start_activity("Nobody", id=_id("term"), task_queue=tq + "-nobody",
                                    start_to_close_timeout=timedelta(seconds=30))
    await h.terminate(reason="stop")
    with pytest.raises(Exception) as ei:
        await within(h.result())
    assert isinstance(ei.value, TerminatedError) or isinstance(getattr(ei.value, "cause", None), TerminatedError), ei.value
    assert (await h.describe()).status == ActivityExecutionStatus.TERMINATED


async def test_standalone_activity_id_conflict_list_count(client, tq):
    aid = _id("dup")
    first = await client.start_activity("Nobody", id=aid, task_queue=tq, start_to_close_timeout=timedelta(seconds=30))
    with pytest.raises(ActivityAlreadyStartedError) as ei:
        await client.start_activity("Nobody", id=aid, task_queue=tq, start_to_close_timeout=timedelta(seconds=30))
    assert ei.value.run_id == first.run_id
    ids = [a.activity_id async for a in client.list_activities(f"TaskQueue = '{tq}'")]
    assert ids == [aid]
    c = await client.count_activities(f"TaskQueue = '{tq}' AND ExecutionStatus = 'Running'")
    assert c.count == 1
