"""Frontend fidelity through the Python SDK: gRPC health and worker
heartbeats (the namespace advertises WorkerHeartbeats, so sdk-core's
workers report themselves and ListWorkers / DescribeWorker show them)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.api.enums.v1 import WorkerStatus
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    DescribeWorkerRequest,
    ListWorkersRequest,
)
from temporalio.client import Client
from temporalio.runtime import Runtime, TelemetryConfig

from conftest import NAMESPACE
from helpers import new_worker, wait_until
from seed_message_passing import GreetingWorkflow


async def test_check_health(client: Client):
    assert await client.service_client.check_health()


async def test_worker_heartbeats_listed(server_address: str, client: Client, tq: str):
    ns = await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=NAMESPACE))
    assert ns.namespace_info.capabilities.worker_heartbeats

    runtime = Runtime(telemetry=TelemetryConfig(), worker_heartbeat_interval=timedelta(seconds=1))
    hb_client = await Client.connect(server_address, namespace=NAMESPACE, runtime=runtime)
    found = {}

    async def listed() -> bool:
        resp = await client.workflow_service.list_workers(
            ListWorkersRequest(namespace=NAMESPACE, query=f"TaskQueue = '{tq}'"))
        if resp.workers:
            found["w"] = resp.workers[0]
            return True
        return False

    async with new_worker(hb_client, tq, [GreetingWorkflow]):
        await wait_until(listed, timeout=15, interval=0.2, what="the worker in ListWorkers")
        w = found["w"]
        assert w.task_queue == tq
        assert w.sdk_name == "temporal-python"
        assert w.status == WorkerStatus.WORKER_STATUS_RUNNING
        assert w.worker_instance_key
        desc = await client.workflow_service.describe_worker(
            DescribeWorkerRequest(namespace=NAMESPACE, worker_instance_key=w.worker_instance_key))
        assert desc.worker_info.worker_heartbeat.task_queue == tq
        assert desc.worker_info.worker_heartbeat.HasField("heartbeat_time")
