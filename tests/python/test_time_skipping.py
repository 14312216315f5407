"""Time skipping through the Python SDK's own TimeSkipper (temporalio.testing),
as Temporal runs it with the namespace flag frontend.WorkflowTimeSkippingEnabled
on (Sundial offers it always). The skipper's client stamps a TimeSkippingConfig
on every start; fast_forward sets a fast-forward with
UpdateWorkflowExecutionOptions and long-polls PollWorkflowExecutionTimeSkipping;
get_time_skipping_info and get_current_time read describe's time_skipping_info."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from temporalio import workflow
from temporalio.testing import TimeSkipper, TimeSkippingConfig

from helpers import event_names, events, new_worker, of_type, wait_workflow_task_done


@workflow.defn
class PyDaySleeper:
    @workflow.run
    async def run(self) -> float:
        start = workflow.now()
        await workflow.sleep(timedelta(days=1))
        return (workflow.now() - start).total_seconds()


@pytest.mark.asyncio
async def test_time_skipping_sleeps_a_day(client, tq, wid):
    skipper = TimeSkipper(client)
    async with new_worker(client, tq, workflows=[PyDaySleeper]):
        began = time.monotonic()
        h = await skipper.client.start_workflow(PyDaySleeper.run, id=wid("ts-day"), task_queue=tq)
        slept = await h.result()
        assert time.monotonic() - began < 10
        assert 86400 <= slept < 86400 + 60, slept
        evs = await events(h)
        names = await event_names(h)
        assert names.count("WorkflowExecutionTimeSkippingTransitioned") == 1, names
        tr = of_type(evs, "WorkflowExecutionTimeSkippingTransitioned")[0]
        started = of_type(evs, "TimerStarted")[0]
        fired = of_type(evs, "TimerFired")[0]
        target = tr.workflow_execution_time_skipping_transitioned_event_attributes.target_time.ToDatetime()
        assert tr.worker_may_ignore
        assert target == started.event_time.ToDatetime() + timedelta(days=1)
        assert fired.event_time.ToDatetime() >= target
        info = await skipper.get_time_skipping_info(h)
        assert info is not None and info.effective_config.enabled
        assert info.effective_config.max_session_skip_count == 200
        assert info.current_time.ToDatetime() >= target


@pytest.mark.asyncio
async def test_time_skipping_fast_forward(client, tq, wid):
    # Started with skipping off: the day's sleep waits on the wall clock
    # until the skipper fast-forwards it.
    skipper = TimeSkipper(client, config=TimeSkippingConfig(enabled=False))
    async with new_worker(client, tq, workflows=[PyDaySleeper]):
        h = await skipper.client.start_workflow(PyDaySleeper.run, id=wid("ts-ff"), task_queue=tq)
        await wait_workflow_task_done(h)
        info = await skipper.get_time_skipping_info(h)
        assert info is not None and not info.effective_config.enabled
        assert "WorkflowExecutionTimeSkippingTransitioned" not in await event_names(h)

        before = datetime.now(timezone.utc)
        assert await skipper.fast_forward(h, timedelta(hours=2)) is True
        now = await skipper.get_current_time(h)
        assert timedelta(hours=2) <= now - before < timedelta(hours=2, minutes=1), now - before
        info = await skipper.get_time_skipping_info(h)
        assert info.fast_forward_info.has_completed and not info.effective_config.enabled
        names = await event_names(h)
        assert names[-2:] == ["WorkflowExecutionOptionsUpdated", "WorkflowExecutionTimeSkippingTransitioned"], names
        assert "TimerFired" not in names

        # A fast-forward past the timer: the workflow completes before the
        # fast-forward's target, so it does not complete (False).
        assert await skipper.fast_forward(h, timedelta(days=1)) is False
        slept = await h.result()
        assert 86400 <= slept < 86400 + 60, slept


@pytest.mark.asyncio
async def test_time_skipping_unbounded_fast_forward(client, tq, wid):
    skipper = TimeSkipper(client, config=TimeSkippingConfig(enabled=False))
    async with new_worker(client, tq, workflows=[PyDaySleeper]):
        h = await skipper.client.start_workflow(PyDaySleeper.run, id=wid("ts-unbounded"), task_queue=tq)
        await wait_workflow_task_done(h)
        # No duration: skipping is enabled and the call waits for the end.
        assert await skipper.fast_forward(h) is False
        assert 86400 <= await h.result() < 86400 + 60
