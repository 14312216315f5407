"""Visibility with the Python SDK: list_workflows / count_workflows over
workflows with varied search attributes, GROUP BY, malformed queries and
wrong attribute types, and delete.

Every query is scoped to the test's own task queue, since the server is
shared by the whole session.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest
from temporalio import workflow
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from helpers import WAIT, new_worker

KEYWORD = SearchAttributeKey.for_keyword("CustomKeywordField")
INT = SearchAttributeKey.for_int("CustomIntField")
DOUBLE = SearchAttributeKey.for_float("CustomDoubleField")
BOOL = SearchAttributeKey.for_bool("CustomBoolField")
DATETIME = SearchAttributeKey.for_datetime("CustomDatetimeField")
TEXT = SearchAttributeKey.for_text("CustomTextField")


# Not sandboxed: the workflows are trivial and live in a test module.
@workflow.defn(sandboxed=False)
class VisQuick:
    @workflow.run
    async def run(self) -> str:
        return "done"


@workflow.defn(sandboxed=False)
class VisBlock:
    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)


async def _fixture(client: Client, tq: str, wid) -> dict[str, str]:
    """w1, w4 completed, w2 running, w3 terminated; returns name -> id."""
    specs = [
        ("w1", VisQuick, [SearchAttributePair(KEYWORD, "alpha"), SearchAttributePair(INT, 1), SearchAttributePair(DOUBLE, 1.5), SearchAttributePair(BOOL, True),
                          SearchAttributePair(DATETIME, datetime(2024, 1, 1, tzinfo=timezone.utc)), SearchAttributePair(TEXT, "hello world")]),
        ("w2", VisBlock, [SearchAttributePair(KEYWORD, "beta"), SearchAttributePair(INT, 5), SearchAttributePair(DOUBLE, 2.5), SearchAttributePair(BOOL, False),
                          SearchAttributePair(DATETIME, datetime(2024, 6, 1, tzinfo=timezone.utc))]),
        ("w3", VisBlock, [SearchAttributePair(KEYWORD, "gamma"), SearchAttributePair(INT, 10), SearchAttributePair(BOOL, True)]),
        ("w4", VisQuick, []),
    ]
    ids = {}
    for name, wf, attrs in specs:
        handle = await client.start_workflow(
            wf.run, id=wid(name), task_queue=tq, search_attributes=TypedSearchAttributes(attrs),
        )
        ids[name] = handle.id
        if name == "w3":
            await handle.terminate("test")
        elif wf is VisQuick:
            await asyncio.wait_for(handle.result(), WAIT)
    return ids


async def _names(client: Client, ids: dict[str, str], query: str, **kwargs) -> list[str]:
    by_id = {v: k for k, v in ids.items()}
    out = []
    async for wf in client.list_workflows(query, **kwargs):
        out.append(by_id.get(wf.id, wf.id))
    return sorted(out)


@pytest.fixture
async def vis(client: Client, tq: str, wid):
    async with new_worker(client, tq, workflows=[VisQuick, VisBlock]):
        yield await _fixture(client, tq, wid)


QUERIES = [
    ("", ["w1", "w2", "w3", "w4"]),
    ("CustomKeywordField = 'alpha'", ["w1"]),
    ("CustomKeywordField != 'alpha'", ["w2", "w3"]),
    ("CustomKeywordField IN ('alpha', 'gamma')", ["w1", "w3"]),
    ("CustomKeywordField STARTS_WITH 'be'", ["w2"]),
    ("CustomIntField > 1", ["w2", "w3"]),
    ("CustomIntField <= 5", ["w1", "w2"]),
    ("CustomIntField BETWEEN 2 AND 10", ["w2", "w3"]),
    ("CustomDoubleField >= 2.5", ["w2"]),
    ("CustomDoubleField IS NULL", ["w3", "w4"]),
    ("CustomBoolField = true", ["w1", "w3"]),
    ("CustomDatetimeField < '2024-03-01T00:00:00Z'", ["w1"]),
    ("CustomTextField = 'hello'", ["w1"]),
    ("ExecutionStatus = 'Running'", ["w2"]),
    ("ExecutionStatus = 'Completed' AND WorkflowType = 'VisQuick'", ["w1", "w4"]),
    ("(CustomIntField = 1 OR CustomIntField = 10) AND CustomBoolField = true", ["w1", "w3"]),
    ("CloseTime IS NOT NULL", ["w1", "w3", "w4"]),
]


@pytest.mark.parametrize("query,want", QUERIES, ids=[q or "all" for q, _ in QUERIES])
async def test_list_and_count(client: Client, tq: str, vis, query: str, want: list[str]):
    scoped = f"TaskQueue = '{tq}'" + (f" AND ({query})" if query else "")
    assert await _names(client, vis, scoped) == want
    count = await client.count_workflows(scoped)
    assert count.count == len(want)


async def test_list_fields_and_paging(client: Client, tq: str, vis):
    # page_size 1 forces the SDK through next-page tokens.
    assert await _names(client, vis, f"TaskQueue = '{tq}'", page_size=1) == ["w1", "w2", "w3", "w4"]
    seen = {wf.id: wf async for wf in client.list_workflows(f"TaskQueue = '{tq}'")}
    w1 = seen[vis["w1"]]
    assert w1.status == WorkflowExecutionStatus.COMPLETED
    assert w1.workflow_type == "VisQuick"
    assert w1.typed_search_attributes.get(KEYWORD) == "alpha"
    assert w1.typed_search_attributes.get(INT) == 1
    assert seen[vis["w2"]].status == WorkflowExecutionStatus.RUNNING
    assert seen[vis["w2"]].close_time is None


async def test_count_group_by_status(client: Client, tq: str, vis):
    count = await client.count_workflows(f"TaskQueue = '{tq}' GROUP BY ExecutionStatus")
    assert count.count == 4
    groups = {tuple(g.group_values): g.count for g in count.groups}
    assert groups == {("Running",): 1, ("Completed",): 2, ("Terminated",): 1}


@pytest.mark.parametrize("query", [
    "WorkflowType = ",
    "CustomIntField = 'abc'",
    "NoSuchAttribute = 1",
    "ExecutionStatus = 'Sleeping'",
    "CustomKeywordField = 'a' AND (",
])
async def test_malformed_query(client: Client, query: str):
    with pytest.raises(RPCError) as err:
        async for _ in client.list_workflows(query):
            pass
    assert err.value.status == RPCStatusCode.INVALID_ARGUMENT
    with pytest.raises(RPCError) as err:
        await client.count_workflows(query)
    assert err.value.status == RPCStatusCode.INVALID_ARGUMENT


async def test_wrong_attribute_type_at_start(client: Client, tq: str, wid):
    bad = TypedSearchAttributes([SearchAttributePair(SearchAttributeKey.for_keyword("CustomIntField"), "nope")])
    with pytest.raises(RPCError) as err:
        await client.start_workflow(VisQuick.run, id=wid("bad"), task_queue=tq, search_attributes=bad)
    assert err.value.status == RPCStatusCode.INVALID_ARGUMENT


async def test_delete(client: Client, tq: str, vis):
    # The SDK has no delete helper; the raw WorkflowService call is what
    # `temporal workflow delete` sends.
    for name in ("w4", "w2"):  # w2 is running: terminated, then deleted
        await client.workflow_service.delete_workflow_execution(DeleteWorkflowExecutionRequest(
            namespace=client.namespace, workflow_execution=WorkflowExecution(workflow_id=vis[name]),
        ))
    assert await _names(client, vis, f"TaskQueue = '{tq}'") == ["w1", "w3"]
    with pytest.raises(RPCError) as err:
        await client.get_workflow_handle(vis["w4"]).describe()
    assert err.value.status == RPCStatusCode.NOT_FOUND
