"""Workflows and activities for seed 001, the temporalio.workflow API reference.

The page's examples are used as printed where they are complete; `# gap:`
marks filled-in glue and `# erratum:` marks page code that does not run with
temporalio 1.35.0 as printed (docs/COMPATIBILITY.md lists them).
"""

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Dict, List, Optional

import temporalio.activity
import temporalio.common
import temporalio.workflow
from temporalio import activity, workflow
from temporalio.common import RawValue, RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError
from temporalio.workflow import (
    ActivityCancellationType,
    ParentClosePolicy,
)


# ---------------------------------------------------------------------------
# @workflow.defn / @workflow.run / @workflow.init examples
# ---------------------------------------------------------------------------


@temporalio.workflow.defn
class MyWorkflow:
    @temporalio.workflow.run
    async def run(self, input: str) -> str:
        return f"Hello, {input}!"


# With custom name and settings
@temporalio.workflow.defn(name="CustomWorkflow", sandboxed=False)
class CustomWorkflow:
    @temporalio.workflow.run
    async def run(self) -> str:
        return "Custom workflow"


@temporalio.workflow.defn
class InitExampleWorkflow:  # the page's MyWorkflow with @workflow.init
    @temporalio.workflow.init
    def __init__(self, input: str):
        self.input = input

    @temporalio.workflow.run
    async def run(self, input: str) -> str:
        return f"Hello, {self.input}!"


@temporalio.activity.defn
async def my_activity(name: str) -> str:
    return f"Hello, {name}!"


@temporalio.workflow.defn
class StartActivityWorkflow:  # the page's @workflow.run example
    @temporalio.workflow.run
    async def run(self, name: str) -> List[Any]:
        first = await temporalio.workflow.start_activity(
            my_activity,
            name,
            schedule_to_close_timeout=timedelta(minutes=5)
        )
        # Start activity and get handle for later awaiting
        handle = temporalio.workflow.start_activity(
            my_activity,
            "World",
            schedule_to_close_timeout=timedelta(minutes=5)
        )
        result = await handle
        # gap: ActivityConfig is a TypedDict of the same keyword options
        config = temporalio.workflow.ActivityConfig(start_to_close_timeout=timedelta(seconds=10))
        third = await temporalio.workflow.execute_activity(my_activity, "config", **config)
        return [first, result, third, handle.done()]


# ---------------------------------------------------------------------------
# signal / query / update decorator examples
# ---------------------------------------------------------------------------


@temporalio.workflow.defn
class MessagesWorkflow:
    def __init__(self):
        self.messages = []
        self.status = "running"
        self.value = 0
        self.custom: List[dict] = []  # gap

    @temporalio.workflow.run
    async def run(self) -> Dict[str, Any]:  # gap
        await temporalio.workflow.wait_condition(lambda: "stop" in self.messages)
        return {"messages": self.messages, "custom": self.custom, "value": self.value}

    @temporalio.workflow.signal
    async def add_message(self, message: str) -> None:
        self.messages.append(message)

    @temporalio.workflow.signal(name="custom_signal", description="Custom signal handler")
    def handle_custom_signal(self, data: dict) -> None:
        # Handle custom signal
        self.custom.append(data)  # gap: the page's body is `pass`

    @temporalio.workflow.query
    def get_status(self) -> str:
        return self.status

    @temporalio.workflow.query(name="message_count", description="Get number of messages")
    def get_message_count(self) -> int:
        return len(self.messages)

    @temporalio.workflow.update
    def increment_value(self, amount: int) -> int:
        self.value += amount
        return self.value

    @temporalio.workflow.update(name="set_value", description="Set the workflow value")
    def set_workflow_value(self, new_value: int) -> int:
        self.value = new_value
        return self.value


# ---------------------------------------------------------------------------
# info(), instance(), in_workflow(), now()/time()/time_ns(), metric_meter()
# ---------------------------------------------------------------------------


def _td_s(td: Optional[timedelta]) -> Optional[float]:
    return None if td is None else td.total_seconds()


@workflow.defn
class InfoWorkflow:
    @workflow.run
    async def run(self, depth: int) -> List[Dict[str, Any]]:
        info = workflow.info()
        now = workflow.now()
        workflow.metric_meter().create_counter("conformance_counter").add(1)
        me = {
            "namespace": info.namespace,
            "workflow_id": info.workflow_id,
            "run_id": info.run_id,
            "first_execution_run_id": info.first_execution_run_id,
            "workflow_type": info.workflow_type,
            "task_queue": info.task_queue,
            "attempt": info.attempt,
            "cron_schedule": info.cron_schedule,
            "continued_run_id": info.continued_run_id,
            "parent": None if info.parent is None else {
                "namespace": info.parent.namespace,
                "workflow_id": info.parent.workflow_id,
                "run_id": info.parent.run_id,
            },
            "root": None if info.root is None else {
                "workflow_id": info.root.workflow_id,
                "run_id": info.root.run_id,
            },
            "start_time": info.start_time.timestamp(),
            "execution_timeout": _td_s(info.execution_timeout),
            "run_timeout": _td_s(info.run_timeout),
            "task_timeout": _td_s(info.task_timeout),
            "retry_max_attempts": None if info.retry_policy is None else info.retry_policy.maximum_attempts,
            "memo_keys": sorted(info.raw_memo.keys()),
            "memo_user": workflow.memo_value("user", default=None),
            "now": now.timestamp(),
            "now_is_utc": now.utcoffset() == timedelta(0),
            "time": workflow.time(),
            "time_ns": workflow.time_ns(),
            "instance_is_self": workflow.instance() is self,
            "in_workflow": workflow.in_workflow(),
        }
        out = [me]
        if depth > 0:
            out += await workflow.execute_child_workflow(
                InfoWorkflow.run, depth - 1, id=f"{info.workflow_id}-child"
            )
        return out


@workflow.defn
class RetriedWorkflow:
    """Fails its first attempt; the server retries it per its RetryPolicy."""

    @workflow.run
    async def run(self) -> Dict[str, Any]:
        info = workflow.info()
        if info.attempt == 1:
            raise ApplicationError("first attempt fails")
        return {"attempt": info.attempt, "max_attempts": info.retry_policy.maximum_attempts}


# ---------------------------------------------------------------------------
# Child workflows
# ---------------------------------------------------------------------------


@temporalio.workflow.defn
class ChildWorkflow:
    @temporalio.workflow.run
    async def run(self, data: str) -> str:
        return f"Processed: {data}"


@workflow.defn
class ParentWorkflow:
    @workflow.run
    async def run(self, child_id: str, child_task_queue: str) -> Dict[str, Any]:
        # Start child workflow
        # erratum: the page does not `await` start_child_workflow (a coroutine)
        # and then awaits that, which yields the handle, not the result.
        child_handle = await temporalio.workflow.start_child_workflow(
            ChildWorkflow.run,
            "input data",
            id=child_id,
            task_queue=child_task_queue,  # page: "child-queue"
            memo={"started_by": "parent"},  # gap: start options from the signature
            search_attributes=temporalio.common.TypedSearchAttributes(
                [temporalio.common.SearchAttributePair(KEYWORD, "child-keyword")]),
        )
        result = await child_handle
        return {
            "result": result,
            "id": child_handle.id,
            "first_execution_run_id": child_handle.first_execution_run_id,
        }


@workflow.defn
class WaitingChild:
    def __init__(self) -> None:
        self.signals: List[str] = []

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: "release" in self.signals)
        return "released after " + ",".join(self.signals)

    @workflow.signal
    def child_signal(self, value: str) -> None:
        self.signals.append(value)


@workflow.defn
class FailingChild:
    @workflow.run
    async def run(self) -> str:
        raise ApplicationError("child failed", type="ChildBroke")


@workflow.defn
class ChildScenariosParent:
    @workflow.run
    async def run(self, scenario: str, prefix: str) -> Any:
        if scenario == "signal":
            handle = await workflow.start_child_workflow(WaitingChild.run, id=f"{prefix}-child")
            await handle.signal(WaitingChild.child_signal, "hello")
            await handle.signal(WaitingChild.child_signal, "release")
            return await handle
        if scenario == "cancel":
            handle = await workflow.start_child_workflow(WaitingChild.run, id=f"{prefix}-child")
            handle.cancel()
            try:
                await handle
                return "child completed"
            except ChildWorkflowError as err:
                return f"{type(err).__name__}/{type(err.cause).__name__}"
        if scenario == "fail":
            try:
                await workflow.execute_child_workflow(FailingChild.run, id=f"{prefix}-child")
                return "child completed"
            except ChildWorkflowError as err:
                return f"{type(err.cause).__name__}/{err.cause.message}/{err.cause.type}"
        if scenario == "timeout":
            try:
                await workflow.execute_child_workflow(
                    WaitingChild.run, id=f"{prefix}-child",
                    execution_timeout=timedelta(seconds=1))
                return "child completed"
            except ChildWorkflowError as err:
                return f"{type(err.cause).__name__}/{err.cause.type.name}"
        if scenario == "close":
            ids = []
            for policy in (ParentClosePolicy.TERMINATE, ParentClosePolicy.ABANDON,
                           ParentClosePolicy.REQUEST_CANCEL):
                handle = await workflow.start_child_workflow(
                    WaitingChild.run, id=f"{prefix}-{policy.name}", parent_close_policy=policy
                )
                ids.append(handle.id)
            return ids  # completes while the three children still run
        raise ApplicationError(f"unknown scenario {scenario}", non_retryable=True)


# ---------------------------------------------------------------------------
# External workflow handles
# ---------------------------------------------------------------------------


@workflow.defn
class ExternalTarget:
    def __init__(self) -> None:
        self.received: List[str] = []
        self.cancelled = False

    @workflow.run
    async def run(self) -> List[str]:
        try:
            await workflow.wait_condition(lambda: False)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return self.received

    @workflow.signal(name="signal_name")
    def on_signal(self, data: str) -> None:
        self.received.append(data)

    @workflow.query
    def get_received(self) -> List[str]:
        return self.received

    @workflow.query
    def was_cancelled(self) -> bool:
        return self.cancelled


@workflow.defn
class ExternalSender:
    @workflow.run
    async def run(self, target_id: str) -> Dict[str, Any]:
        # Get handle to external workflow
        external_handle = temporalio.workflow.get_external_workflow_handle(target_id)
        # Signal external workflow
        await external_handle.signal("signal_name", "signal_data")
        # Cancel external workflow
        await external_handle.cancel()
        return {"id": external_handle.id, "run_id": external_handle.run_id}


# ---------------------------------------------------------------------------
# continue_as_new
# ---------------------------------------------------------------------------


@temporalio.workflow.defn
class IterationWorkflow:  # the page's MyWorkflow
    @temporalio.workflow.run
    async def run(self, iteration: int) -> str:
        if iteration >= 100:
            return f"Completed after {iteration} iterations"
        # Continue as new with next iteration
        temporalio.workflow.continue_as_new(iteration + 1)


@dataclass
class CanState:
    run: int
    seen: List[str]


@workflow.defn
class ContinueWithUpdatesWorkflow:
    """Handles one Update per run; continues-as-new only once handlers finished."""

    def __init__(self) -> None:
        self.updates: List[str] = []

    @workflow.run
    async def run(self, state: CanState) -> Dict[str, Any]:
        if state.run >= 2:
            return {
                "seen": state.seen,
                "continued_run_id": workflow.info().continued_run_id,
                "first_execution_run_id": workflow.info().first_execution_run_id,
                "memo_run": workflow.memo_value("run", default=None),
            }
        await workflow.wait_condition(lambda: len(self.updates) > 0)
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(
            CanState(run=state.run + 1, seen=state.seen + self.updates),
            memo={"run": state.run + 1},
        )

    @workflow.update
    async def add(self, value: str) -> str:
        self.updates.append(value)
        await asyncio.sleep(0.1)  # a durable timer inside the handler
        return f"run {workflow.info().run_id} got {value}"


# ---------------------------------------------------------------------------
# Timers
# ---------------------------------------------------------------------------


@workflow.defn
class TimerWorkflow:
    def __init__(self) -> None:
        self.go = False

    @workflow.run
    async def run(self) -> Dict[str, Any]:
        t0 = workflow.time()
        await workflow.sleep(0.5)
        t1 = workflow.time()
        await asyncio.sleep(0.3)
        t2 = workflow.time()
        timed_out = False
        try:
            await workflow.wait_condition(lambda: self.go, timeout=0.3)
        except asyncio.TimeoutError:
            timed_out = True
        # Satisfied by a signal before its timeout: the timer is cancelled.
        await workflow.wait_condition(lambda: self.go, timeout=60)
        return {"sleep": t1 - t0, "asyncio_sleep": t2 - t1, "timed_out": timed_out}

    @workflow.signal
    def proceed(self) -> None:
        self.go = True


# ---------------------------------------------------------------------------
# patched / deprecate_patch: three versions of one Workflow Type
# ---------------------------------------------------------------------------


@workflow.defn(name="PatchedWorkflow")
class PatchedWorkflowV1:
    def __init__(self) -> None:
        self.go = False

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.go)
        return "v1"

    @workflow.signal
    def proceed(self) -> None:
        self.go = True


@workflow.defn(name="PatchedWorkflow")
class PatchedWorkflowV2:
    def __init__(self) -> None:
        self.go = False

    @workflow.run
    async def run(self) -> str:
        if temporalio.workflow.patched("feature_v2"):
            # New version of the feature
            version = "v2-new"
        else:
            # Old version for replay compatibility
            version = "v2-old-path"
        await workflow.wait_condition(lambda: self.go)
        return version

    @workflow.signal
    def proceed(self) -> None:
        self.go = True


@workflow.defn(name="PatchedWorkflow")
class PatchedWorkflowV3:
    def __init__(self) -> None:
        self.go = False

    @workflow.run
    async def run(self) -> str:
        # In newer workflow versions, deprecate old patches
        temporalio.workflow.deprecate_patch("feature_v2")
        await workflow.wait_condition(lambda: self.go)
        return "v3"

    @workflow.signal
    def proceed(self) -> None:
        self.go = True


# ---------------------------------------------------------------------------
# memo / upsert_memo / upsert_search_attributes
# ---------------------------------------------------------------------------


@workflow.defn
class MemoWorkflow:
    def __init__(self) -> None:
        self.go = False

    @workflow.run
    async def run(self) -> Dict[str, Any]:
        current_memo = temporalio.workflow.memo()
        initial = dict(current_memo)  # gap: memo() is a live view; keep a copy
        user_id = temporalio.workflow.memo_value("user_id", default="unknown")
        absent = temporalio.workflow.memo_value("absent", default="unknown")
        try:
            temporalio.workflow.memo_value("absent")
            key_error = False
        except KeyError:
            key_error = True
        # Update memo
        temporalio.workflow.upsert_memo({"status": "processing", "progress": 0.5})
        after_upsert = dict(temporalio.workflow.memo())
        await workflow.wait_condition(lambda: self.go)
        temporalio.workflow.upsert_memo({"progress": None, "status": "done"})  # None removes
        return {
            "initial": initial,
            "user_id": user_id,
            "absent": absent,
            "key_error": key_error,
            "after_upsert": after_upsert,
            "final": dict(temporalio.workflow.memo()),
        }

    @workflow.signal
    def proceed(self) -> None:
        self.go = True


# The dev server's default custom search attributes.
KEYWORD = SearchAttributeKey.for_keyword("CustomKeywordField")
INT = SearchAttributeKey.for_int("CustomIntField")
BOOL = SearchAttributeKey.for_bool("CustomBoolField")
DOUBLE = SearchAttributeKey.for_float("CustomDoubleField")
DATETIME = SearchAttributeKey.for_datetime("CustomDatetimeField")
TEXT = SearchAttributeKey.for_text("CustomTextField")


@workflow.defn
class SearchAttributesWorkflow:
    def __init__(self) -> None:
        self.go = False

    @workflow.run
    async def run(self) -> Dict[str, Any]:
        initial = workflow.info().typed_search_attributes.get(KEYWORD)
        # erratum: the page passes a dict mixing str keys and SearchAttributeKey
        # keys; temporalio 1.35.0 takes a sequence of SearchAttributeUpdate.
        temporalio.workflow.upsert_search_attributes([
            KEYWORD.value_set("active"),
            INT.value_set(42),
            BOOL.value_set(True),
            DOUBLE.value_set(1.5),
            DATETIME.value_set(workflow.now().replace(microsecond=0)),
            TEXT.value_set("engineering department"),
        ])
        sa = workflow.info().typed_search_attributes
        after = {
            "keyword": sa.get(KEYWORD), "int": sa.get(INT), "bool": sa.get(BOOL),
            "double": sa.get(DOUBLE), "text": sa.get(TEXT),
            "datetime_set": sa.get(DATETIME) is not None,
        }
        await workflow.wait_condition(lambda: self.go)
        temporalio.workflow.upsert_search_attributes([INT.value_unset()])
        return {"initial": initial, "after": after,
                "int_after_unset": workflow.info().typed_search_attributes.get(INT)}

    @workflow.signal
    def proceed(self) -> None:
        self.go = True


# ---------------------------------------------------------------------------
# Deterministic uuid4 / random / now across replay
# ---------------------------------------------------------------------------


# Filled by DeterminismWorkflow (unsandboxed, so this is the real module):
# run_id -> list of (is_replaying, values) observed on each execution of the code.
OBSERVED: Dict[str, List[Any]] = defaultdict(list)


@workflow.defn(name="DeterminismWorkflow", sandboxed=False)
class DeterminismWorkflow:
    @workflow.run
    async def run(self) -> Dict[str, Any]:
        # Inside a workflow
        workflow_uuid = temporalio.workflow.uuid4()
        rng = temporalio.workflow.random()
        random_number = rng.randint(1, 100)
        first = {"uuid": str(workflow_uuid), "random": random_number,
                 "now": workflow.now().isoformat(), "time_ns": workflow.time_ns()}
        await workflow.sleep(0.2)
        second = {"uuid": str(workflow.uuid4()), "random": workflow.random().random(),
                  "now": workflow.now().isoformat()}
        values = {"first": first, "second": second}
        OBSERVED[workflow.info().run_id].append(
            (workflow.unsafe.is_replaying(), values))
        return values


@workflow.defn(name="DeterminismWorkflow", sandboxed=False)
class DeterminismWorkflowChanged:
    """Same type, different commands: replaying the old history must fail."""

    @workflow.run
    async def run(self) -> Dict[str, Any]:
        await workflow.execute_local_activity(
            my_activity, "changed", start_to_close_timeout=timedelta(seconds=5))
        return {}


# ---------------------------------------------------------------------------
# as_completed
# ---------------------------------------------------------------------------


@dataclass
class SleepArg:
    name: str
    seconds: float


@activity.defn
async def sleep_then_return(arg: SleepArg) -> str:
    await asyncio.sleep(arg.seconds)
    return arg.name


@workflow.defn
class AsCompletedWorkflow:
    @workflow.run
    async def run(self) -> List[str]:
        tasks = [
            temporalio.workflow.start_activity(sleep_then_return, SleepArg("a", 1.5), schedule_to_close_timeout=timedelta(minutes=1)),
            temporalio.workflow.start_activity(sleep_then_return, SleepArg("b", 0.1), schedule_to_close_timeout=timedelta(minutes=1)),
            temporalio.workflow.start_activity(sleep_then_return, SleepArg("c", 0.8), schedule_to_close_timeout=timedelta(minutes=1)),
        ]
        results = []
        # Process tasks as they complete
        for task in temporalio.workflow.as_completed(tasks):
            result = await task
            results.append(result)
        return results


# ---------------------------------------------------------------------------
# set_current_details / get_current_details
# ---------------------------------------------------------------------------


@workflow.defn
class DetailsWorkflow:
    def __init__(self) -> None:
        self.stage = 0

    @workflow.run
    async def run(self) -> str:
        temporalio.workflow.set_current_details("Processing user data")
        await workflow.wait_condition(lambda: self.stage >= 1)  # gap: process_user_data()
        temporalio.workflow.set_current_details("Sending notifications")
        await workflow.wait_condition(lambda: self.stage >= 2)  # gap: send_notifications()
        current_status = temporalio.workflow.get_current_details()
        return current_status

    @workflow.signal
    def advance(self) -> None:
        self.stage += 1


# ---------------------------------------------------------------------------
# Local activities
# ---------------------------------------------------------------------------


@temporalio.activity.defn
async def local_activity(data: str) -> str:
    return data.upper()


@activity.defn
async def flaky_local_activity(fail_times: int) -> int:
    attempt = activity.info().attempt
    if attempt <= fail_times:
        raise ApplicationError(f"local attempt {attempt} failed")
    return attempt


@workflow.defn
class LocalActivityWorkflow:
    @workflow.run
    async def run(self) -> List[Any]:
        # Start local activity
        result = await temporalio.workflow.start_local_activity(
            local_activity,
            "hello world",
            start_to_close_timeout=timedelta(seconds=30)
        )
        attempt = await workflow.execute_local_activity(
            flaky_local_activity, 2,
            start_to_close_timeout=timedelta(seconds=5),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100), maximum_attempts=5),
        )
        return [result, attempt]


# ---------------------------------------------------------------------------
# Activity heartbeats and cancellation
# ---------------------------------------------------------------------------


CANCELLED_ACTIVITIES: Dict[str, bool] = {}


@activity.defn
async def resumable_activity(fail_first_attempt: bool) -> Dict[str, Any]:
    info = activity.info()
    start = int(info.heartbeat_details[0]) if info.heartbeat_details else 0
    for i in range(start + 1, start + 4):
        activity.heartbeat(i)
        await asyncio.sleep(0.05)
    if fail_first_attempt and info.attempt == 1:
        raise ApplicationError("crashed after making progress")
    return {"attempt": info.attempt, "resumed_from": start}


@activity.defn
async def stops_heartbeating() -> str:
    activity.heartbeat("alive")
    await asyncio.sleep(10)
    return "should have timed out"


@activity.defn
async def cancellable_activity(key: str) -> str:
    try:
        while True:
            activity.heartbeat()
            await asyncio.sleep(0.1)
    except asyncio.CancelledError:
        CANCELLED_ACTIVITIES[key] = True
        raise


@workflow.defn
class HeartbeatWorkflow:
    @workflow.run
    async def run(self, scenario: str) -> Dict[str, Any]:
        try:
            if scenario == "resume":
                value = await workflow.execute_activity(
                    resumable_activity, True,
                    start_to_close_timeout=timedelta(seconds=10),
                    heartbeat_timeout=timedelta(seconds=2),
                    retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=2),
                )
            else:
                value = await workflow.execute_activity(
                    stops_heartbeating,
                    start_to_close_timeout=timedelta(seconds=30),
                    heartbeat_timeout=timedelta(seconds=1),
                    retry_policy=RetryPolicy(maximum_attempts=1),
                )
            return {"ok": True, "value": value}
        except ActivityError as err:
            cause = err.cause
            return {
                "ok": False,
                "cause_class": type(cause).__name__,
                "timeout_type": getattr(getattr(cause, "type", None), "name", None),
                "last_heartbeat_details": list(getattr(cause, "last_heartbeat_details", []) or []),
            }


@workflow.defn
class ActivityCancelWorkflow:
    @workflow.run
    async def run(self, key: str, cancellation_type: str) -> str:
        handle = workflow.start_activity(
            cancellable_activity, key,
            start_to_close_timeout=timedelta(seconds=30),
            heartbeat_timeout=timedelta(seconds=1),
            cancellation_type=ActivityCancellationType[cancellation_type],
        )
        await asyncio.sleep(0.5)  # let it start and heartbeat
        handle.cancel()
        try:
            await handle
            return "activity completed"
        except ActivityError as err:
            return f"ActivityError/{type(err.cause).__name__}"


# ---------------------------------------------------------------------------
# Handlers registered at run time
# ---------------------------------------------------------------------------


@workflow.defn
class RuntimeHandlersWorkflow:
    def __init__(self) -> None:
        self.received: List[str] = []
        self.done = False

    @workflow.run
    async def run(self) -> Dict[str, Any]:
        def custom_signal_handler(message: str) -> None:
            self.received.append(message)  # gap: the page prints it

        def custom_query_handler(query_type: str) -> str:
            return f"Query response for {query_type}"

        def custom_update_handler(value: int) -> int:
            return value + 1

        def custom_update_validator(value: int) -> None:
            if value < 0:
                raise ValueError("negative values are rejected")

        # Set handlers dynamically
        temporalio.workflow.set_signal_handler("custom_signal", custom_signal_handler)
        temporalio.workflow.set_query_handler("custom_query", custom_query_handler)
        # erratum: the page passes the validator positionally; it is keyword-only.
        temporalio.workflow.set_update_handler(
            "custom_update", custom_update_handler, validator=custom_update_validator)
        def dynamic_signal(name: str, args: Sequence[RawValue]) -> None:
            self.received.append(f"dynamic:{name}")

        def dynamic_query(name: str, args: Sequence[RawValue]) -> str:
            return f"dynamic query {name}"

        def dynamic_update(name: str, args: Sequence[RawValue]) -> str:
            return f"dynamic update {name}"

        temporalio.workflow.set_dynamic_signal_handler(dynamic_signal)
        temporalio.workflow.set_dynamic_query_handler(dynamic_query)
        temporalio.workflow.set_dynamic_update_handler(dynamic_update)

        # Get handlers
        signal_handler = temporalio.workflow.get_signal_handler("custom_signal")
        query_handler = temporalio.workflow.get_query_handler("custom_query")
        found = {
            "signal": signal_handler is custom_signal_handler,
            "query": query_handler is custom_query_handler,
            "update": temporalio.workflow.get_update_handler("custom_update") is custom_update_handler,
            "dynamic": all(h is not None for h in (
                temporalio.workflow.get_dynamic_signal_handler(),
                temporalio.workflow.get_dynamic_query_handler(),
                temporalio.workflow.get_dynamic_update_handler())),
        }
        await workflow.wait_condition(lambda: self.done)
        temporalio.workflow.set_signal_handler("custom_signal", None)
        found["unset"] = temporalio.workflow.get_signal_handler("custom_signal") is None
        return {"received": self.received, "found": found}

    @workflow.signal
    def finish(self) -> None:
        self.done = True


# ---------------------------------------------------------------------------
# failure_exception_types
# ---------------------------------------------------------------------------


@workflow.defn(failure_exception_types=[ValueError])
class FailureTypesWorkflow:
    @workflow.run
    async def run(self) -> str:
        raise ValueError("this fails the workflow")


@workflow.defn
class TaskFailureWorkflow:
    @workflow.run
    async def run(self) -> str:
        raise ValueError("this only fails the workflow task")


# ---------------------------------------------------------------------------
# start_activity_class / start_activity_method
# ---------------------------------------------------------------------------


class GreetingActivities:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    @activity.defn
    async def greet(self, name: str) -> str:
        return f"{self.prefix}, {name}!"


@activity.defn(name="CallableGreeter")
class CallableGreeter:
    def __init__(self, suffix: str) -> None:
        self.suffix = suffix

    async def __call__(self, name: str) -> str:
        return f"Hi {name}{self.suffix}"


@workflow.defn
class ClassActivitiesWorkflow:
    @workflow.run
    async def run(self, name: str) -> List[str]:
        # erratum: the page's start_activity_class(activity_cls, activity_method: str, arg)
        # does not exist; the SDK takes a callable class, and start_activity_method
        # takes the (unbound) method.
        by_method = await workflow.start_activity_method(
            GreetingActivities.greet, name, start_to_close_timeout=timedelta(seconds=10))
        by_class = await workflow.start_activity_class(
            CallableGreeter, name, start_to_close_timeout=timedelta(seconds=10))
        return [by_method, by_class]


# ---------------------------------------------------------------------------
# create_nexus_client
# ---------------------------------------------------------------------------

import nexusrpc  # noqa: E402
import nexusrpc.handler  # noqa: E402


@dataclass
class NexusGreetingInput:
    name: str


@nexusrpc.service
class GreetingService:
    greet: nexusrpc.Operation[NexusGreetingInput, str]


@nexusrpc.handler.service_handler(service=GreetingService)
class GreetingServiceHandler:
    @nexusrpc.handler.sync_operation
    async def greet(self, ctx: nexusrpc.handler.StartOperationContext, input: NexusGreetingInput) -> str:
        return f"Hello, {input.name} (via Nexus)"


@workflow.defn
class NexusCallerWorkflow:
    @workflow.run
    async def run(self, endpoint: str, name: str) -> str:
        # erratum: the page's create_nexus_client(client, *, endpoint) /
        # (*, service: str, endpoint, serializer) overloads do not exist in
        # 1.35.0; it is create_nexus_client(*, service, endpoint).
        nexus_client = temporalio.workflow.create_nexus_client(service=GreetingService, endpoint=endpoint)
        return await nexus_client.execute_operation(GreetingService.greet, NexusGreetingInput(name))
