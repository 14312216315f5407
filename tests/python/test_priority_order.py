"""Dispatch order by priority and fairness through the Python SDK's
temporalio.common.Priority: activities wait in the backlog while no
activity worker runs, then a worker with one activity slot takes them one
at a time, in the order the server hands them out (lower priority key
first, an unset key inherited from the workflow, FIFO within a key;
fairness keys in proportion to their weights)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.common import Priority, RetryPolicy

from helpers import events, new_worker, of_type, result, wait_until, within

_order: list[str] = []


@activity.defn
async def py_prio_act(name: str) -> None:
    _order.append(name)


@workflow.defn
class PyPrioWorkflow:
    @workflow.run
    async def run(self, queue: str, acts: list[list]) -> None:
        await asyncio.gather(
            *(
                workflow.execute_activity(
                    py_prio_act,
                    name,
                    task_queue=queue,
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=RetryPolicy(maximum_attempts=1),
                    priority=Priority(priority_key=key or None, fairness_key=fair or None, fairness_weight=weight or None),
                )
                for name, key, fair, weight in acts
            )
        )


async def _run_in_order(client, tq, wid, acts, **start_kwargs) -> tuple[list[str], object]:
    """Runs PyPrioWorkflow with acts, lets the activities pile up, then
    drains them with a one-slot worker; returns the order they ran in."""
    aq = tq + "-act"
    _order.clear()
    async with new_worker(client, tq, workflows=[PyPrioWorkflow]):
        h = await client.start_workflow(PyPrioWorkflow.run, args=[aq, acts], id=wid(), task_queue=tq, **start_kwargs)

        async def all_scheduled() -> bool:
            d = await within(
                client.workflow_service.describe_workflow_execution(
                    DescribeWorkflowExecutionRequest(namespace=client.namespace, execution=WorkflowExecution(workflow_id=h.id))
                )
            )
            return len(d.pending_activities) == len(acts)

        await wait_until(all_scheduled, what="all activities scheduled")
        async with new_worker(client, aq, activities=[py_prio_act], max_concurrent_activities=1):
            await result(h)
    return list(_order), h


@pytest.mark.asyncio
async def test_priority_key_order(client, tq, wid):
    acts = [
        ["p5a", 5, "", 0],
        ["p1a", 1, "", 0],
        ["inherits", 0, "", 0],
        ["p3", 3, "", 0],
        ["p2", 2, "", 0],
        ["p1b", 1, "", 0],
        ["p4", 4, "", 0],
    ]
    order, h = await _run_in_order(client, tq, wid, acts, priority=Priority(priority_key=4))
    assert order == ["p1a", "p1b", "p2", "p3", "inherits", "p4", "p5a"]
    scheduled = of_type(await events(h), "ActivityTaskScheduled")
    assert [e.activity_task_scheduled_event_attributes.priority.priority_key for e in scheduled] == [5, 1, 0, 3, 2, 1, 4]
    started = of_type(await events(h), "WorkflowExecutionStarted")[0]
    assert started.workflow_execution_started_event_attributes.priority.priority_key == 4


@pytest.mark.asyncio
async def test_fairness_weights(client, tq, wid):
    # All of b's activities are scheduled before a's; a (weight 3) still
    # gets about 3 of every 4 dispatches while both are backlogged.
    acts = [[f"b{i:02d}", 0, "b", 1.0] for i in range(16)] + [[f"a{i:02d}", 0, "a", 3.0] for i in range(16)]
    order, _ = await _run_in_order(client, tq, wid, acts)
    assert len(order) == len(acts)
    first = order[:16]
    a = sum(1 for n in first if n.startswith("a"))
    assert 11 <= a <= 13, order
    for key in "ab":
        mine = [n for n in order if n.startswith(key)]
        assert mine == sorted(mine), order
