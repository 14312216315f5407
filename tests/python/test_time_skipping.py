"""Time skipping through the Python SDK's own TimeSkipper (temporalio.testing):
Temporal builds it behind the namespace flag frontend.WorkflowTimeSkippingEnabled,
off by default, and Sundial has not built it, so Sundial answers as Temporal
does with the flag off. A start through the skipper's client (which stamps a
TimeSkippingConfig on it) is refused with Unimplemented and Temporal's
sentence, and starts nothing; a fast-forward of a running workflow is
refused the same way and leaves no trace in its history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio import workflow
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import TimeSkipper

from helpers import event_names, new_worker, wait_workflow_task_done

TEMPORAL_OFF = "The Time-Skipping feature is not enabled for namespace."


@workflow.defn
class PyDaySleeper:
    @workflow.run
    async def run(self) -> str:
        await workflow.sleep(timedelta(days=1))
        return "woke"


@pytest.mark.asyncio
async def test_time_skipping_not_enabled(client, tq, wid):
    skipper = TimeSkipper(client)
    refused = wid("ts-refused")
    async with new_worker(client, tq, workflows=[PyDaySleeper]):
        with pytest.raises(RPCError) as err:
            await skipper.client.start_workflow(PyDaySleeper.run, id=refused, task_queue=tq)
        assert err.value.status == RPCStatusCode.UNIMPLEMENTED
        assert err.value.message.startswith(TEMPORAL_OFF), err.value.message
        assert "StartWorkflowExecutionRequest.time_skipping_config" in err.value.message
        with pytest.raises(RPCError) as err:
            await client.get_workflow_handle(refused).describe()
        assert err.value.status == RPCStatusCode.NOT_FOUND

        # A workflow started without the skipper sleeps on the wall clock;
        # the skipper cannot fast-forward it.
        h = await client.start_workflow(PyDaySleeper.run, id=wid("ts-plain"), task_queue=tq)
        await wait_workflow_task_done(h)
        with pytest.raises(RPCError) as err:
            await skipper.fast_forward(h, timedelta(days=1))
        assert err.value.status == RPCStatusCode.UNIMPLEMENTED
        assert err.value.message.startswith(TEMPORAL_OFF), err.value.message
        assert await skipper.get_time_skipping_info(h) is None
        names = await event_names(h)
        assert "WorkflowExecutionOptionsUpdated" not in names, names
        assert "WorkflowExecutionTimeSkippingTransitioned" not in names, names
        assert names[-1] == "TimerStarted", names
        await h.terminate("done")
