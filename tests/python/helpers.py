"""Small helpers shared by the conformance tests."""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
from datetime import timedelta
from typing import Any, Awaitable, Callable, Iterable, Optional, Sequence

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

# Every wait in the suite is bounded by this (seconds) unless told otherwise.
WAIT = 30.0

_shared_executor = concurrent.futures.ThreadPoolExecutor(max_workers=16)


def new_worker(
    client: Client,
    task_queue: str,
    workflows: Sequence[type] = (),
    activities: Sequence[Callable] = (),
    **kwargs: Any,
) -> Worker:
    """Worker(client, task_queue=..., workflows=[...], activities=[...]),
    exactly as the seed's worker example, plus an executor when a sync
    activity is registered."""
    if any(not asyncio.iscoroutinefunction(a) for a in activities):
        kwargs.setdefault("activity_executor", _shared_executor)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(workflows),
        activities=list(activities),
        **kwargs,
    )


def event_name(e: HistoryEvent) -> str:
    """EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED -> WorkflowExecutionSignaled."""
    raw = EventType.Name(e.event_type)[len("EVENT_TYPE_"):]
    return "".join(part.capitalize() for part in raw.split("_"))


async def events(handle: WorkflowHandle) -> list[HistoryEvent]:
    hist = await asyncio.wait_for(handle.fetch_history(), WAIT)
    return list(hist.events)


async def event_names(handle: WorkflowHandle) -> list[str]:
    return [event_name(e) for e in await events(handle)]


def of_type(evs: Iterable[HistoryEvent], name: str) -> list[HistoryEvent]:
    return [e for e in evs if event_name(e) == name]


async def result(handle: WorkflowHandle, timeout: float = WAIT) -> Any:
    return await asyncio.wait_for(handle.result(), timeout)


async def within(aw: Awaitable[Any], timeout: float = WAIT) -> Any:
    return await asyncio.wait_for(aw, timeout)


async def wait_until(
    check: Callable[[], Awaitable[bool]],
    timeout: float = WAIT,
    interval: float = 0.1,
    what: str = "condition",
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if await check():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


async def wait_for_event(
    handle: WorkflowHandle, name: str, count: int = 1, timeout: float = WAIT
) -> list[HistoryEvent]:
    found: list[HistoryEvent] = []

    async def check() -> bool:
        nonlocal found
        found = of_type(await events(handle), name)
        return len(found) >= count

    await wait_until(check, timeout, what=f"{count}x {name} in history of {handle.id}")
    return found


async def wait_workflow_task_done(handle: WorkflowHandle, count: int = 1) -> None:
    """Waits until the worker completed `count` workflow tasks."""
    await wait_for_event(handle, "WorkflowTaskCompleted", count)


def assert_in_order(names: Sequence[str], expected: Sequence[str]) -> None:
    """`expected` appears in `names` as a subsequence."""
    it = iter(enumerate(names))
    for want in expected:
        for _, got in it:
            if got == want:
                break
        else:
            raise AssertionError(
                f"{want} missing (in order {list(expected)}) from history {list(names)}"
            )


def cause_chain(err: BaseException) -> list[BaseException]:
    out = []
    while err is not None:
        out.append(err)
        err = err.__cause__
    return out


def secs(td: Optional[timedelta]) -> Optional[float]:
    return None if td is None else td.total_seconds()
