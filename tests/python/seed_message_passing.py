"""Workflows and activities from seed 000, "Workflow message passing - Python SDK".

The page's code is used as written wherever it is complete. Lines marked
`# gap:` fill what the page leaves out (imports, elided `...` bodies, a
definition the page refers to but never shows). Lines marked `# erratum:`
fix code on the page that cannot run as printed; docs/COMPATIBILITY.md lists
each erratum.
"""

import asyncio
import itertools
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from enum import IntEnum
from typing import List, Optional, Tuple

# erratum: the page imports `from typing import Sequence`; temporalio 1.35.0
# only accepts collections.abc.Sequence[RawValue] for dynamic workflows and
# activities (TypeError "Dynamic workflow must accept a single
# Sequence[temporalio.common.RawValue]" otherwise).
from collections.abc import Sequence

from temporalio import activity, workflow
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError


# ---------------------------------------------------------------------------
# Query / Signal / Update handlers (GreetingWorkflow)
# ---------------------------------------------------------------------------


class Language(IntEnum):
    # The page shows Chinese/English/French here and Arabic/Hindi/Spanish in
    # the activity further down; the sample it is taken from also has
    # Portuguese, which the greeting service does not support.
    Arabic = 1
    Chinese = 2
    English = 3
    French = 4
    Hindi = 5
    Portuguese = 6
    Spanish = 7
    # erratum: the page also writes Language.CHINESE / Language.ENGLISH. These
    # aliases make both spellings work; aliases are not listed by list(Language).
    ARABIC = 1
    CHINESE = 2
    ENGLISH = 3
    FRENCH = 4
    HINDI = 5
    PORTUGUESE = 6
    SPANISH = 7


@dataclass
class GetLanguagesInput:
    include_unsupported: bool


@dataclass
class ApproveInput:
    name: str


@workflow.defn
class GreetingWorkflow:
    def __init__(self) -> None:
        self.greetings = {
            Language.CHINESE: "你好,世界",
            Language.ENGLISH: "Hello, world",
        }
        # gap: state the page's handlers and run method use
        self.approved_for_release = False
        self.approver_name: Optional[str] = None
        self.language = Language.ENGLISH
        self.submitted: List[str] = []

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.approved_for_release)
        # gap: the page's "..." -- let in-flight handlers finish first
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.greetings[self.language]

    @workflow.query
    def get_languages(self, input: GetLanguagesInput) -> list[Language]:
        # 👉 A Query handler returns a value: it can inspect but must not mutate the Workflow state.
        if input.include_unsupported:
            return list(Language)
        else:
            return list(self.greetings)

    @workflow.signal
    def approve(self, input: ApproveInput) -> None:
        # 👉 A Signal handler mutates the Workflow state but cannot return a value.
        self.approved_for_release = True
        self.approver_name = input.name

    @workflow.update
    def set_language(self, language: Language) -> Language:
        # 👉 An Update handler can mutate the Workflow state and return a value.
        previous_language, self.language = self.language, language
        return previous_language

    @set_language.validator
    def validate_language(self, language: Language) -> None:
        if language not in self.greetings:
            # 👉 In an Update validator you raise any exception to reject the Update.
            raise ValueError(f"{language.name} is not supported")

    # gap: the Signal named by the page's Signal-With-Start example
    @workflow.signal
    def submit_greeting(self, name: str) -> None:
        self.submitted.append(name)

    # gap: queries so tests can observe state
    @workflow.query
    def get_language(self) -> Language:
        return self.language

    @workflow.query
    def get_approver(self) -> Optional[str]:
        return self.approver_name

    @workflow.query
    def get_submitted(self) -> List[str]:
        return self.submitted


# ---------------------------------------------------------------------------
# Async Update handler with an Activity and asyncio.Lock
# ---------------------------------------------------------------------------


@activity.defn
async def call_greeting_service(to_language: Language) -> Optional[str]:
    await asyncio.sleep(0.2)  # Pretend that we are calling a remote service.
    greetings = {
        Language.Arabic: "مرحبا بالعالم",
        Language.Chinese: "你好,世界",
        Language.English: "Hello, world",
        Language.French: "Bonjour, monde",
        Language.Hindi: "नमस्ते दुनिया",
        Language.Spanish: "Hola mundo",
    }
    return greetings.get(to_language)


@workflow.defn
class AsyncGreetingWorkflow:  # the page calls this one GreetingWorkflow too
    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        # gap: the page's "..." (same state as GreetingWorkflow)
        self.greetings = {
            Language.CHINESE: "你好,世界",
            Language.ENGLISH: "Hello, world",
        }
        self.approved_for_release = False
        self.approver_name: Optional[str] = None
        self.language = Language.ENGLISH

    # gap: the page's "..." (same run/approve/get_languages as above)
    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.approved_for_release)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.greetings[self.language]

    @workflow.signal
    def approve(self, input: ApproveInput) -> None:
        self.approved_for_release = True
        self.approver_name = input.name

    @workflow.query
    def get_languages(self, input: GetLanguagesInput) -> list[Language]:
        if input.include_unsupported:
            return list(Language)
        else:
            return list(self.greetings)

    @workflow.update
    async def set_language(self, language: Language) -> Language:
        if language not in self.greetings:
            # 👉 Use a lock here to ensure that multiple calls to set_language are processed in order.
            async with self.lock:
                greeting = await workflow.execute_activity(
                    call_greeting_service,
                    language,
                    start_to_close_timeout=timedelta(seconds=10),
                )
                if greeting is None:
                    # 👉 An update validator cannot be async, so cannot be used to check that the remote
                    # call_greeting_service supports the requested language. Raising ApplicationError
                    # will fail the Update, but the WorkflowExecutionUpdateAccepted event will still be
                    # added to history.
                    raise ApplicationError(
                        f"Greeting service does not support {language.name}"
                    )
                self.greetings[language] = greeting
        previous_language, self.language = self.language, language
        return previous_language


# ---------------------------------------------------------------------------
# wait_condition / all_handlers_finished / unfinished_policy
# ---------------------------------------------------------------------------


@workflow.defn
class AllHandlersFinishedWorkflow:  # the page's MyWorkflow
    def __init__(self) -> None:
        # gap: state for the page's "..."
        self.finish_requested = False
        self.release_update = False

    @workflow.run
    async def run(self) -> str:
        # gap: the page's "..." -- wait until a client asks us to finish
        await workflow.wait_condition(lambda: self.finish_requested)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return "workflow-result"

    # gap: an async handler that is still running when run() wants to return
    @workflow.update
    async def my_update(self) -> str:
        await workflow.wait_condition(lambda: self.release_update)
        return "update-result"

    @workflow.signal
    def finish(self) -> None:
        self.finish_requested = True

    @workflow.signal
    def release(self) -> None:
        self.release_update = True


@workflow.defn
class UnfinishedHandlersWorkflow:
    """run() returns while update handlers are still in progress."""

    def __init__(self) -> None:
        self.finish_requested = False

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.finish_requested)
        return "finished-without-waiting"

    @workflow.update(unfinished_policy=workflow.HandlerUnfinishedPolicy.ABANDON)
    async def my_update(self) -> None:
        await workflow.wait_condition(lambda: False)  # never finishes

    # gap: same handler with the default policy (WARN_AND_ABANDON)
    @workflow.update
    async def my_warning_update(self) -> None:
        await workflow.wait_condition(lambda: False)

    # gap: an async Signal handler that is still running at the end
    @workflow.signal
    async def my_signal(self) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.signal
    def finish(self) -> None:
        self.finish_requested = True


# ---------------------------------------------------------------------------
# @workflow.init
# ---------------------------------------------------------------------------


@dataclass
class MyWorkflowInput:
    name: str


# gap: the Activity the page's update handler calls; it returns True only when
# it is given the title that __init__ computed from the workflow input.
@activity.defn
async def check_title_validity(title: str) -> bool:
    return title.startswith("Sir ")


@workflow.defn
class WorkflowRunSeesWorkflowInitWorkflow:
    @workflow.init
    def __init__(self, workflow_input: MyWorkflowInput) -> None:
        self.name_with_title = f"Sir {workflow_input.name}"
        self.title_has_been_checked = False

    @workflow.run
    async def get_greeting(self, workflow_input: MyWorkflowInput) -> str:
        await workflow.wait_condition(lambda: self.title_has_been_checked)
        return f"Hello, {self.name_with_title}"

    @workflow.update
    async def check_title_validity(self) -> bool:
        # 👉 The handler is now guaranteed to see the workflow input
        # after it has been processed by __init__.
        is_valid = await workflow.execute_activity(
            check_title_validity,
            self.name_with_title,
            schedule_to_close_timeout=timedelta(seconds=10),
        )
        self.title_has_been_checked = True
        return is_valid


# ---------------------------------------------------------------------------
# asyncio.Lock to prevent concurrent handler execution
# ---------------------------------------------------------------------------


@dataclass
class FetchedData:  # gap: what fetch_data returns (the page uses data.x / data.y)
    x: int
    y: int


_fetch_counter = itertools.count(1)


@activity.defn
async def fetch_data() -> FetchedData:  # gap: the page never shows fetch_data
    n = next(_fetch_counter)
    return FetchedData(x=n, y=n)


@workflow.defn
class LockWorkflow:  # the page's MyWorkflow, both handlers
    def __init__(self) -> None:
        # gap: the page's "..."
        self.x = 0
        self.y = 0
        self.handled = 0
        self.lock = asyncio.Lock()

    # gap: run until the expected number of signals were handled
    @workflow.run
    async def run(self, expected_signals: int) -> List[int]:
        await workflow.wait_condition(lambda: self.handled >= expected_signals)
        return [self.x, self.y]

    @workflow.signal
    async def bad_async_handler(self):
        data = await workflow.execute_activity(
            fetch_data, start_to_close_timeout=timedelta(seconds=10)
        )
        self.x = data.x
        # 🐛🐛 Bug!! If multiple instances of this handler are executing concurrently, then
        # there may be times when the Workflow has self.x from one Activity execution and self.y from another.
        await asyncio.sleep(1)  # or await anything else
        self.y = data.y
        self.handled += 1  # gap

    @workflow.signal
    async def safe_async_handler(self):
        async with self.lock:
            data = await workflow.execute_activity(
                fetch_data, start_to_close_timeout=timedelta(seconds=10)
            )
            self.x = data.x
            # ✅ OK: the scheduler may switch now to a different handler execution, or to the main workflow
            # method, but no other execution of this handler can run until this execution finishes.
            await asyncio.sleep(1)  # or await anything else
            self.y = data.y
        self.handled += 1  # gap


# ---------------------------------------------------------------------------
# Signal from a Workflow
# ---------------------------------------------------------------------------


@workflow.defn
class WorkflowA:  # gap: the page shows only WorkflowB
    def __init__(self) -> None:
        self.received: Optional[str] = None

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.received is not None)
        return self.received

    @workflow.signal
    async def your_signal(self, value: str) -> None:
        self.received = value


@workflow.defn
class WorkflowB:
    @workflow.run
    async def run(self) -> None:
        handle = workflow.get_external_workflow_handle_for(WorkflowA.run, "workflow-a")
        await handle.signal(WorkflowA.your_signal, "signal argument")


@workflow.defn
class SignalClosedWorkflowSender:
    """gap: sends an External Signal to a workflow that has already closed."""

    @workflow.run
    async def run(self, target_id: str) -> str:
        handle = workflow.get_external_workflow_handle(target_id)
        try:
            await handle.signal("approve", ApproveInput(name="late"))
        except Exception as err:
            return f"{type(err).__name__}: {err}"
        return "signal delivered"


# ---------------------------------------------------------------------------
# start_update / get_update_handle_for (HelloWorldWorkflow)
# ---------------------------------------------------------------------------


@dataclass
class HelloWorldInput:  # gap: the page uses HelloWorldInput("World")
    entity_to_be_greeted: str


@activity.defn
async def compose_greeting(input: HelloWorldInput) -> str:  # gap
    return f"Hello, {input.entity_to_be_greeted}!"


@workflow.defn
class HelloWorldWorkflow:  # gap: the page calls set_greeting but never shows it
    def __init__(self) -> None:
        self.greeting = "Hello, Temporal!"
        self.may_proceed = False
        self.done = False
        self.update_infos: List[str] = []

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.done)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.greeting

    @workflow.update
    async def set_greeting(self, input: HelloWorldInput) -> str:
        info = workflow.current_update_info()
        self.update_infos.append(f"{info.id}/{info.name}")
        # A long-running async handler: it waits for a go-ahead, then runs an
        # Activity -- start_update(ACCEPTED) must return before all of this.
        await workflow.wait_condition(lambda: self.may_proceed)
        new_greeting = await workflow.execute_activity(
            compose_greeting, input, start_to_close_timeout=timedelta(seconds=10)
        )
        previous, self.greeting = self.greeting, new_greeting
        return previous

    @workflow.signal
    def proceed(self) -> None:
        self.may_proceed = True

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.query
    def get_update_infos(self) -> List[str]:
        return self.update_infos


# ---------------------------------------------------------------------------
# Update-With-Start: ShoppingCartWorkflow (lazy_initialization sample)
# ---------------------------------------------------------------------------


@dataclass
class ShoppingCartItem:
    sku: str
    quantity: int


@dataclass
class FinalizedOrder:
    id: str
    items: List[Tuple[ShoppingCartItem, str]]
    total: str


# gap: the sample's price lookup
ITEM_PRICES = {"sku-123": Decimal("5.99"), "sku-456": Decimal("1.00")}


@activity.defn
async def get_price(item: ShoppingCartItem) -> Optional[str]:
    await asyncio.sleep(0.05)
    price = ITEM_PRICES.get(item.sku)
    return None if price is None else str(price * item.quantity)


@workflow.defn
class ShoppingCartWorkflow:
    def __init__(self) -> None:
        self.items: List[Tuple[ShoppingCartItem, Decimal]] = []
        self.order_submitted = False

    @workflow.run
    async def run(self) -> FinalizedOrder:
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() and self.order_submitted
        )
        return FinalizedOrder(
            id=workflow.info().workflow_id,
            items=[(item, str(price)) for item, price in self.items],
            total=str(sum(price for _, price in self.items) or Decimal("0.00")),
        )

    @workflow.update
    async def add_item(self, item: ShoppingCartItem) -> str:
        price = await workflow.execute_activity(
            get_price, item, start_to_close_timeout=timedelta(seconds=10)
        )
        if price is None:
            raise ApplicationError(f"Item unavailable: {item}")
        self.items.append((item, Decimal(price)))
        return str(sum(p for _, p in self.items))

    @add_item.validator
    def validate_add_item(self, item: ShoppingCartItem) -> None:
        if self.order_submitted:
            raise ApplicationError("Order already submitted")

    @workflow.signal
    def checkout(self) -> None:
        self.order_submitted = True


# ---------------------------------------------------------------------------
# Dynamic components
# ---------------------------------------------------------------------------


@dataclass
class YourDataClass:
    greeting: str
    name: str


@activity.defn
async def default_greeting(input: YourDataClass) -> str:  # gap: not shown
    return f"{input.greeting}, {input.name}!"


@workflow.defn(dynamic=True)
class DynamicWorkflow:
    @workflow.run
    async def run(self, args: Sequence[RawValue]) -> str:
        name = workflow.payload_converter().from_payload(args[0].payload, str)
        return await workflow.execute_activity(
            default_greeting,
            YourDataClass("Hello", name),
            start_to_close_timeout=timedelta(seconds=10),
        )


@activity.defn(dynamic=True)
async def dynamic_greeting(args: Sequence[RawValue]) -> str:
    arg1 = activity.payload_converter().from_payload(args[0].payload, YourDataClass)
    return (
        f"{arg1.greeting}, {arg1.name}!\nActivity Type: {activity.info().activity_type}"
    )


@workflow.defn
class DynamicActivityGreetingWorkflow:  # the page calls this one GreetingWorkflow
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(
            "unregistered_activity",
            YourDataClass("Hello", name),
            start_to_close_timeout=timedelta(seconds=10),
        )


@workflow.defn
class DynamicHandlersWorkflow:
    def __init__(self) -> None:
        self.signals: List[str] = []
        self.finished = False

    @workflow.run
    async def run(self) -> List[str]:
        await workflow.wait_condition(lambda: self.finished)
        return self.signals

    @workflow.signal(dynamic=True)
    async def dynamic_signal(self, name: str, args: Sequence[RawValue]) -> None:
        # gap: the page's "..."
        value = workflow.payload_converter().from_payload(args[0].payload, str)
        self.signals.append(f"{name}={value}")
        if name == "finish":
            self.finished = True

    @workflow.query(dynamic=True)
    def dynamic_query(self, name: str, args: Sequence[RawValue]) -> str:
        return f"{name}: {len(self.signals)} signals"

    @workflow.update(dynamic=True)
    async def dynamic_update(self, name: str, args: Sequence[RawValue]) -> str:
        n = workflow.payload_converter().from_payload(args[0].payload, int)
        return f"{name}: {n * 2}"


# ---------------------------------------------------------------------------
# Troubleshooting: failing handlers
# ---------------------------------------------------------------------------


@workflow.defn
class FailingHandlersWorkflow:
    def __init__(self) -> None:
        self.done = False

    @workflow.run
    async def run(self, fail_with: str) -> str:
        await workflow.wait_condition(lambda: self.done)
        if fail_with:
            raise ApplicationError(fail_with)
        return "done"

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.query
    def status(self) -> str:
        return "finished" if self.done else "running"

    @workflow.query
    def broken_query(self) -> str:
        raise ValueError("query handler blew up")

    @workflow.query
    def mutating_query(self) -> str:
        # A Query "can inspect but must not mutate": the SDK refuses commands here.
        workflow.upsert_memo({"mutated": True})
        return "mutated"

    @workflow.update
    def task_failing_update(self) -> str:
        # A plain (non-ApplicationError) exception in a handler fails the
        # Workflow Task instead of the Update.
        raise RuntimeError("handler bug: fails the workflow task")


@workflow.defn
class SleepyWorkflow:
    """gap: a workflow whose execution times out (query after timeout)."""

    def __init__(self) -> None:
        self.stage = "sleeping"

    @workflow.run
    async def run(self) -> None:
        await asyncio.sleep(3600)

    @workflow.query
    def get_stage(self) -> str:
        return self.stage
