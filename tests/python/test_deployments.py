"""Worker versioning through the Python SDK: workers with a deployment
config register their version by polling; `versioning_behavior` on
`@workflow.defn` is recorded on WorkflowTaskCompleted and decides routing
when the current version moves (PINNED runs stay, AUTO_UPGRADE runs move
at their next task); a pinned versioning override at start wins."""

from __future__ import annotations

import uuid

from temporalio import workflow
from temporalio.api.enums.v1 import VersioningBehavior as ProtoBehavior
from temporalio.api.workflowservice.v1 import (
    DescribeWorkerDeploymentRequest,
    SetWorkerDeploymentCurrentVersionRequest,
)
from temporalio.common import (
    PinnedVersioningOverride,
    VersioningBehavior,
    WorkerDeploymentVersion,
)
from temporalio.worker import WorkerDeploymentConfig

from helpers import events, new_worker, of_type, result, wait_until


class _WaitsForGo:
    """Waits for the `go` signal and returns its value with the worker's
    version suffix (each version's worker registers its own classes)."""

    def __init__(self) -> None:
        self.value: str | None = None

    async def _finish(self, suffix: str) -> str:
        await workflow.wait_condition(lambda: self.value is not None)
        return f"{self.value}{suffix}"

    @workflow.signal
    def go(self, value: str) -> None:
        self.value = value


@workflow.defn(name="PyPinned", versioning_behavior=VersioningBehavior.PINNED)
class PinnedV1(_WaitsForGo):
    @workflow.run
    async def run(self) -> str:
        return await self._finish("_v1")


@workflow.defn(name="PyAuto", versioning_behavior=VersioningBehavior.AUTO_UPGRADE)
class AutoV1(_WaitsForGo):
    @workflow.run
    async def run(self) -> str:
        return await self._finish("_v1")


@workflow.defn(name="PyPinned", versioning_behavior=VersioningBehavior.PINNED)
class PinnedV2(_WaitsForGo):
    @workflow.run
    async def run(self) -> str:
        return await self._finish("_v2")


@workflow.defn(name="PyAuto", versioning_behavior=VersioningBehavior.AUTO_UPGRADE)
class AutoV2(_WaitsForGo):
    @workflow.run
    async def run(self) -> str:
        return await self._finish("_v2")


_DEFS = {"_v1": [PinnedV1, AutoV1], "_v2": [PinnedV2, AutoV2]}


async def test_versioned_workers_route_by_behavior(client, tq, wid):
    name = f"pydep-{uuid.uuid4().hex[:8]}"
    v1 = WorkerDeploymentVersion(deployment_name=name, build_id="1.0")
    v2 = WorkerDeploymentVersion(deployment_name=name, build_id="2.0")

    def worker(v: WorkerDeploymentVersion, suffix: str):
        return new_worker(client, tq, _DEFS[suffix],
                          deployment_config=WorkerDeploymentConfig(version=v, use_worker_versioning=True))

    svc = client.workflow_service
    async with worker(v1, "_v1"), worker(v2, "_v2"):
        async def registered() -> bool:
            try:
                d = await svc.describe_worker_deployment(DescribeWorkerDeploymentRequest(namespace=client.namespace, deployment_name=name))
            except Exception:
                return False
            return len(d.worker_deployment_info.version_summaries) == 2

        await wait_until(registered, what="both versions registered")

        async def set_current(build: str) -> None:
            await svc.set_worker_deployment_current_version(SetWorkerDeploymentCurrentVersionRequest(
                namespace=client.namespace, deployment_name=name, build_id=build, identity="pytest"))

        await set_current("1.0")
        pinned = await client.start_workflow("PyPinned", id=wid("pinned"), task_queue=tq)
        auto = await client.start_workflow("PyAuto", id=wid("auto"), task_queue=tq)
        override = await client.start_workflow("PyAuto", id=wid("override"), task_queue=tq)
        for h in (pinned, auto):
            async def first_task(h=h) -> bool:
                return bool(of_type(await events(h), "WorkflowTaskCompleted"))
            await wait_until(first_task, what="first workflow task")

        done = of_type(await events(pinned), "WorkflowTaskCompleted")[0].workflow_task_completed_event_attributes
        assert done.deployment_version.build_id == "1.0"
        assert done.deployment_version.deployment_name == name
        assert done.versioning_behavior == ProtoBehavior.VERSIONING_BEHAVIOR_PINNED
        desc = await pinned.describe()
        assert desc.raw_description.workflow_execution_info.versioning_info.behavior == ProtoBehavior.VERSIONING_BEHAVIOR_PINNED

        await set_current("2.0")
        overridden = await client.start_workflow("PyAuto", id=wid("pinned-override"), task_queue=tq,
                                                 versioning_override=PinnedVersioningOverride(v1))
        for h, value in ((pinned, "p"), (auto, "a"), (overridden, "o"), (override, "n")):
            await h.signal("go", value)
        assert await result(pinned) == "p_v1"
        assert await result(auto) == "a_v2"
        assert await result(overridden) == "o_v1"
        assert await result(override) == "n_v2"
        last = of_type(await events(auto), "WorkflowTaskCompleted")[-1].workflow_task_completed_event_attributes
        assert last.deployment_version.build_id == "2.0"
        assert last.versioning_behavior == ProtoBehavior.VERSIONING_BEHAVIOR_AUTO_UPGRADE
        started = (await events(overridden))[0].workflow_execution_started_event_attributes
        assert started.versioning_override.pinned.version.build_id == "1.0"
