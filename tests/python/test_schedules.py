"""Schedules through the Python SDK, written as Temporal's Python
documentation shows them: client.create_schedule with a Schedule of a
ScheduleActionStartWorkflow and a ScheduleSpec, then the handle's
describe, list_schedules, update, pause/unpause, trigger, backfill and
delete, and the errors the SDK maps (ScheduleAlreadyRunningError,
RPCError NOT_FOUND / INVALID_ARGUMENT).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from temporalio import workflow
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleBackfill,
    ScheduleCalendarSpec,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from helpers import WAIT, new_worker


@workflow.defn(sandboxed=False)
class SchedGreeting:
    @workflow.run
    async def run(self, name: str) -> str:
        return f"Hello, {name}!"


async def wait_until(what: str, cond, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while True:
        got = await cond()
        if got:
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


def schedule_of(wf_id: str, tq: str, arg: str = "World", **spec) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(SchedGreeting.run, arg, id=wf_id, task_queue=tq),
        spec=ScheduleSpec(**spec),
        state=ScheduleState(note="Here's a note on my Schedule."),
    )


async def test_schedule_lifecycle(client: Client, tq: str, wid):
    sched_id, wf_id = wid("sched"), wid("wf")
    async with new_worker(client, tq, workflows=[SchedGreeting]):
        handle = await client.create_schedule(
            sched_id,
            Schedule(
                action=ScheduleActionStartWorkflow(SchedGreeting.run, "World", id=wf_id, task_queue=tq),
                spec=ScheduleSpec(
                    calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(9)], minute=[ScheduleRange(0, 45, 15)], day_of_week=[ScheduleRange(1, 5)])],
                    cron_expressions=["@hourly"],
                    time_zone_name="America/New_York",
                ),
                policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.BUFFER_ALL, catchup_window=timedelta(minutes=5)),
                state=ScheduleState(note="Here's a note on my Schedule.", paused=True),
            ),
            memo={"team": "billing"},
        )
        with pytest.raises(ScheduleAlreadyRunningError):
            await client.create_schedule(sched_id, schedule_of(wf_id, tq, intervals=[ScheduleIntervalSpec(every=timedelta(hours=1))]))

        desc = await handle.describe()
        assert desc.id == sched_id
        assert desc.schedule.state.paused and desc.schedule.state.note == "Here's a note on my Schedule."
        assert desc.schedule.policy.overlap == ScheduleOverlapPolicy.BUFFER_ALL
        assert desc.schedule.policy.catchup_window == timedelta(minutes=5)
        spec = desc.schedule.spec
        assert spec.time_zone_name == "America/New_York" and spec.cron_expressions == []
        assert len(spec.calendars) == 2  # the calendar and @hourly, structured
        assert len(desc.info.next_action_times) == 10
        assert await desc.memo_value("team") == "billing"
        action = desc.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow) and action.id == wf_id and action.workflow == "SchedGreeting"

        # Listed.
        async def listed():
            async for entry in await client.list_schedules():
                if entry.id == sched_id:
                    return entry
            return None
        entry = await wait_until("schedule listed", listed)
        assert entry.schedule is not None and entry.schedule.state.paused
        assert entry.schedule.state.note == "Here's a note on my Schedule."
        assert entry.info is not None and len(entry.info.next_action_times) > 0

        # Trigger: a workflow with the action id plus the time, run by our worker.
        await handle.trigger()
        desc = await wait_until("triggered action", lambda: _described_with_actions(handle, 1))
        started = desc.info.recent_actions[0].action
        assert started.workflow_id.startswith(wf_id + "-")
        nominal = datetime.strptime(started.workflow_id[len(wf_id) + 1:], "%Y-%m-%dT%H:%M:%SZ")
        assert nominal.year >= 2024
        assert await client.get_workflow_handle(started.workflow_id).result() == "Hello, World!"

        # Update the argument, unpause with a note.
        async def updater(input: ScheduleUpdateInput) -> ScheduleUpdate:
            s = input.description.schedule
            assert isinstance(s.action, ScheduleActionStartWorkflow)
            s.action.args = ["Sundial"]
            return ScheduleUpdate(schedule=s)
        await handle.update(updater)
        await handle.unpause(note="running now")
        desc = await handle.describe()
        assert not desc.schedule.state.paused and desc.schedule.state.note == "running now"
        assert desc.info.last_updated_at is not None
        await handle.pause(note="paused again")
        desc = await handle.describe()
        assert desc.schedule.state.paused and desc.schedule.state.note == "paused again"

        # Backfill one morning: 09:00..09:45 every 15 minutes plus @hourly
        # at 09:00 (the same time: one action for it) and 10:00.
        start = datetime(2024, 3, 12, 13, 0, tzinfo=timezone.utc)  # 09:00 New York (EDT)
        await handle.backfill(ScheduleBackfill(start_at=start, end_at=start + timedelta(hours=1), overlap=ScheduleOverlapPolicy.ALLOW_ALL))
        await wait_until("backfilled actions", lambda: _described_with_actions(handle, 6))
        for hhmm in ("13:00", "13:15", "13:30", "13:45", "14:00"):
            h = client.get_workflow_handle(f"{wf_id}-2024-03-12T{hhmm}:00Z")
            assert await h.result() == "Hello, Sundial!"

        await handle.delete()
        with pytest.raises(RPCError) as err:
            await handle.describe()
        assert err.value.status == RPCStatusCode.NOT_FOUND


async def _described_with_actions(handle, n):
    desc = await handle.describe()
    return desc if desc.info.num_actions >= n else None


async def test_schedule_fires_and_limits(client: Client, tq: str, wid):
    sched_id, wf_id = wid("sched"), wid("wf")
    async with new_worker(client, tq, workflows=[SchedGreeting]):
        sched = schedule_of(wf_id, tq, intervals=[ScheduleIntervalSpec(every=timedelta(seconds=1))])
        sched.state = ScheduleState(limited_actions=True, remaining_actions=3)
        # ALLOW_ALL: a slow worker cannot turn a second into an overlap skip.
        sched.policy = SchedulePolicy(overlap=ScheduleOverlapPolicy.ALLOW_ALL)
        handle = await client.create_schedule(sched_id, sched)
        desc = await wait_until("three actions", lambda: _described_with_actions(handle, 3))
        await asyncio.sleep(2)
        desc = await handle.describe()
        assert desc.info.num_actions == 3 and desc.schedule.state.remaining_actions == 0
        ids = sorted(a.action.workflow_id for a in desc.info.recent_actions)
        times = [datetime.strptime(i[len(wf_id) + 1:], "%Y-%m-%dT%H:%M:%SZ") for i in ids]
        assert [(b - a).total_seconds() for a, b in zip(times, times[1:])] == [1.0, 1.0]
        for i in ids:
            assert await client.get_workflow_handle(i).result() == "Hello, World!"
        await handle.delete()


async def test_schedule_errors(client: Client, tq: str, wid):
    with pytest.raises(RPCError) as err:
        await client.create_schedule(wid("bad"), schedule_of(wid("wf"), tq, cron_expressions=["0 0 31 13 *"]))
    assert err.value.status == RPCStatusCode.INVALID_ARGUMENT
    assert "cron_string[0]" in err.value.message and "Month" in err.value.message
    with pytest.raises(RPCError) as err:
        await client.create_schedule(wid("bad"), schedule_of(wid("wf"), tq, intervals=[ScheduleIntervalSpec(every=timedelta(milliseconds=10))]))
    assert err.value.status == RPCStatusCode.INVALID_ARGUMENT and "interval" in err.value.message
    with pytest.raises(RPCError) as err:
        await client.get_schedule_handle("no-such-schedule-" + uuid.uuid4().hex).describe()
    assert err.value.status == RPCStatusCode.NOT_FOUND
