"""Workflows and activities for seed 002, "Core application - Python SDK",
beyond the page's own modules (your_*_dacx.py, activity_options_dacx.py).

`# gap:` marks what the page leaves out; `# erratum:` marks page code that
cannot run as printed (see docs/COMPATIBILITY.md).
"""

import asyncio
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import Any, Dict, List, Optional

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from your_activities_dacx import your_activity
    from your_dataobject_dacx import YourParams


# ---------------------------------------------------------------------------
# Workflow / Activity type names
# ---------------------------------------------------------------------------


@workflow.defn(name="your-workflow-name")
class CustomNamedWorkflow:
    @workflow.run
    async def run(self) -> str:
        return workflow.info().workflow_type


@workflow.defn
class DefaultNamedWorkflow:
    """No name: the Workflow Type is the unqualified class name."""

    @workflow.run
    async def run(self) -> List[str]:
        return [
            workflow.info().workflow_type,
            await workflow.execute_activity(
                default_named_activity, start_to_close_timeout=timedelta(seconds=10)
            ),
            await workflow.execute_activity(
                custom_named_activity, start_to_close_timeout=timedelta(seconds=10)
            ),
        ]


@activity.defn
async def default_named_activity() -> str:
    return activity.info().activity_type


@activity.defn(name="your-activity")
async def custom_named_activity() -> str:
    return activity.info().activity_type


# ---------------------------------------------------------------------------
# Workflow parameters
# ---------------------------------------------------------------------------


@dataclass
class ScanInput:
    account_id: str
    region: str
    severity: str | None = None
    notify: bool = False
    approval_required: bool = True
    remediation_strategy: str | None = None  # NEW FIELD


class ScanType(str, Enum):
    FULL = "full"
    QUICK = "quick"


@activity.defn
async def scan_ec2_activity(account_id: str, region: str):
    # gap: the page calls boto3 here; the test returns what it was given.
    return {"account_id": account_id, "region": region, "instances": 3}


@workflow.defn
class ScanWorkflow:
    @workflow.run
    async def run(self, input: ScanInput) -> Dict[str, Any]:
        scanned = await workflow.execute_activity(
            scan_ec2_activity,
            # erratum: the page passes `input.account_id, input.region` as two
            # positional arguments; execute_activity takes one, multiple go in args=.
            args=[input.account_id, input.region],
            start_to_close_timeout=timedelta(minutes=5),
        )
        return {"input": input, "scanned": scanned}


@workflow.defn
class MultiParamScanWorkflow:
    @workflow.run
    async def run(self, account_id: str, region: str) -> str:
        return f"{account_id}@{region}"


@workflow.defn
class SerializableParamsWorkflow:
    @workflow.run
    async def run(self, config: dict, items: list, scan_type: ScanType, ratio: float, flag: bool) -> list:
        return [config, items, scan_type, ratio, flag, isinstance(scan_type, ScanType)]


# ---------------------------------------------------------------------------
# Return values and errors
# ---------------------------------------------------------------------------


@dataclass
class ScanResult:
    account_id: str
    findings: List[str]
    score: float


@workflow.defn
class ReturnValueWorkflow:
    @workflow.run
    async def run(self, input: ScanInput) -> ScanResult:
        return ScanResult(account_id=input.account_id, findings=["open-port", "old-ami"], score=7.5)


@workflow.defn
class RaisingWorkflow:
    @workflow.run
    async def run(self, account_id: str) -> str:
        raise ApplicationError(
            f"account {account_id} is not allowed",
            {"account_id": account_id},
            type="InvalidAccount",
            non_retryable=True,
        )


@activity.defn
async def failing_activity(message: str) -> str:
    raise ApplicationError(message, type="ActivityBroke", non_retryable=True)


@workflow.defn
class ActivityErrorWorkflow:
    @workflow.run
    async def run(self, message: str) -> str:
        return await workflow.execute_activity(
            failing_activity, message, start_to_close_timeout=timedelta(seconds=10)
        )


# ---------------------------------------------------------------------------
# Timeouts and retries
# ---------------------------------------------------------------------------


# Activities run in the test process (not in the workflow sandbox), so plain
# module state can count attempts.
ATTEMPTS: Dict[str, List[int]] = defaultdict(list)


@activity.defn
async def slow_activity(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "finished"


@activity.defn
async def flaky_activity(key: str, fail_times: int, error_kind: str) -> int:
    """Fails on the first `fail_times` attempts, then returns the attempt."""
    attempt = activity.info().attempt
    ATTEMPTS[key].append(attempt)
    if attempt <= fail_times:
        if error_kind == "ValueError":
            raise ValueError(f"attempt {attempt} failed")
        if error_kind == "non_retryable":
            raise ApplicationError(f"attempt {attempt} failed", non_retryable=True)
        raise ApplicationError(f"attempt {attempt} failed", type="Flaky")
    return attempt


@dataclass
class ActivityCall:
    activity: str  # "slow" or "flaky"
    arg: Any = None
    key: str = ""
    fail_times: int = 0
    error_kind: str = "ApplicationError"
    task_queue: Optional[str] = None
    schedule_to_close: Optional[float] = None
    schedule_to_start: Optional[float] = None
    start_to_close: Optional[float] = None
    retry: Optional[str] = None  # "page", "page_non_retryable", "once"


# The retry policy printed on the page.
PAGE_RETRY_POLICY = RetryPolicy(
    backoff_coefficient=2.0,
    maximum_attempts=5,
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=2),
)


def _td(s: Optional[float]) -> Optional[timedelta]:
    return None if s is None else timedelta(seconds=s)


@workflow.defn
class ActivityOptionsWorkflow:
    """Runs one activity with the given options and reports the outcome."""

    @workflow.run
    async def run(self, call: ActivityCall) -> Dict[str, Any]:
        retry = {
            None: None,
            "page": PAGE_RETRY_POLICY,
            "page_non_retryable": RetryPolicy(
                backoff_coefficient=2.0,
                maximum_attempts=5,
                initial_interval=timedelta(seconds=1),
                maximum_interval=timedelta(seconds=2),
                non_retryable_error_types=["ValueError"],
            ),
            "once": RetryPolicy(maximum_attempts=1),
        }[call.retry]
        if call.activity == "slow":
            fn, args = slow_activity, [call.arg]
        else:
            fn, args = flaky_activity, [call.key, call.fail_times, call.error_kind]
        started = workflow.time()
        try:
            value = await workflow.execute_activity(
                fn,
                args=args,
                task_queue=call.task_queue,
                schedule_to_close_timeout=_td(call.schedule_to_close),
                schedule_to_start_timeout=_td(call.schedule_to_start),
                start_to_close_timeout=_td(call.start_to_close),
                retry_policy=retry,
            )
            return {"ok": True, "value": value, "elapsed": workflow.time() - started}
        except ActivityError as err:
            cause = err.cause
            return {
                "ok": False,
                "elapsed": workflow.time() - started,
                "retry_state": err.retry_state.name if err.retry_state else None,
                "cause_class": type(cause).__name__,
                "cause_message": getattr(cause, "message", str(cause)),
                "timeout_type": getattr(getattr(cause, "type", None), "name", None)
                if type(cause).__name__ == "TimeoutError"
                else None,
                "cause_type": getattr(cause, "type", None)
                if type(cause).__name__ == "ApplicationError"
                else None,
            }


@workflow.defn
class MissingTimeoutWorkflow:
    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.execute_activity(your_activity, YourParams("Hello", "nobody"))
        except ValueError as err:
            return f"ValueError: {err}"
        return "no error"


# ---------------------------------------------------------------------------
# Workers: split registration, sync activities
# ---------------------------------------------------------------------------


@workflow.defn
class RemoteActivityWorkflow:
    @workflow.run
    async def run(self, activity_task_queue: str) -> str:
        return await workflow.execute_activity(
            your_activity,
            YourParams("Hello", "other queue"),
            task_queue=activity_task_queue,
            start_to_close_timeout=timedelta(seconds=10),
        )


@activity.defn
def sync_threaded_activity(input: YourParams) -> str:
    time.sleep(0.05)
    return f"{input.greeting}, {input.name}! (thread {threading.current_thread().name != 'MainThread'})"


@activity.defn
def sync_process_activity(input: YourParams) -> str:
    import os

    return f"{input.greeting}, {input.name}! (pid {os.getpid()})"


@workflow.defn
class SyncActivitiesWorkflow:
    @workflow.run
    async def run(self, activity_name: str) -> str:
        return await workflow.execute_activity(
            activity_name,
            YourParams("Hello", "sync"),
            start_to_close_timeout=timedelta(seconds=20),
        )


# ---------------------------------------------------------------------------
# Payload sizes
# ---------------------------------------------------------------------------


@workflow.defn
class EchoSizeWorkflow:
    @workflow.run
    async def run(self, data: str) -> int:
        return len(data)


# ---------------------------------------------------------------------------
# "Workflow code must be deterministic ... no system date or time"
# ---------------------------------------------------------------------------


@workflow.defn
class SandboxedClockWorkflow:
    @workflow.run
    async def run(self) -> List[str]:
        import datetime

        out = []
        try:
            datetime.datetime.now()
            out.append("system clock allowed")
        except Exception as err:  # the sandbox refuses it
            out.append(type(err).__name__)
        out.append(type(workflow.now()).__name__)  # the deterministic alternative
        return out
