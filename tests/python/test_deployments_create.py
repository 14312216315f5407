"""Explicit Worker Deployment and version creation, compute config, and
workflow rules through the Python SDK's raw WorkflowService (Temporal
1.31's CreateWorkerDeployment, CreateWorkerDeploymentVersion,
Update/ValidateWorkerDeploymentVersionComputeConfig and the workflow rule
RPCs)."""

from __future__ import annotations

import uuid

import pytest
from temporalio.api.compute.v1 import (
    ComputeConfig,
    ComputeConfigScalingGroup,
    ComputeConfigScalingGroupUpdate,
    ComputeProvider,
)
from temporalio.api.deployment.v1 import WorkerDeploymentVersion
from temporalio.api.enums.v1 import TaskQueueType, WorkerDeploymentVersionStatus
from temporalio.api.rules.v1 import WorkflowRuleAction, WorkflowRuleSpec
from temporalio.api.workflowservice.v1 import (
    CreateWorkerDeploymentRequest,
    CreateWorkerDeploymentVersionRequest,
    CreateWorkflowRuleRequest,
    DeleteWorkflowRuleRequest,
    DescribeWorkerDeploymentVersionRequest,
    DescribeWorkflowRuleRequest,
    ListWorkflowRulesRequest,
    UpdateWorkerDeploymentVersionComputeConfigRequest,
    ValidateWorkerDeploymentVersionComputeConfigRequest,
)
from temporalio.service import RPCError, RPCStatusCode


async def test_create_worker_deployment_and_version(client):
    svc = client.workflow_service
    ns = client.namespace
    name = f"py-dep-{uuid.uuid4().hex[:8]}"
    first = await svc.create_worker_deployment(
        CreateWorkerDeploymentRequest(namespace=ns, deployment_name=name, identity="py", request_id="r1"))
    assert first.conflict_token
    again = await svc.create_worker_deployment(
        CreateWorkerDeploymentRequest(namespace=ns, deployment_name=name, request_id="r1"))
    assert again.conflict_token == first.conflict_token
    with pytest.raises(RPCError) as err:
        await svc.create_worker_deployment(CreateWorkerDeploymentRequest(namespace=ns, deployment_name=name, request_id="r2"))
    assert err.value.status == RPCStatusCode.ALREADY_EXISTS and name in err.value.message

    version = WorkerDeploymentVersion(deployment_name=name, build_id="1.0")
    lam = ComputeProvider(type="aws-lambda")
    cc = ComputeConfig(scaling_groups={"wf": ComputeConfigScalingGroup(
        task_queue_types=[TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW], provider=lam)})
    await svc.create_worker_deployment_version(CreateWorkerDeploymentVersionRequest(
        namespace=ns, deployment_version=version, identity="py", request_id="v1", compute_config=cc))
    with pytest.raises(RPCError) as err:
        await svc.create_worker_deployment_version(CreateWorkerDeploymentVersionRequest(
            namespace=ns, deployment_version=WorkerDeploymentVersion(deployment_name=name, build_id="2.0"), request_id="v2",
            compute_config=ComputeConfig(scaling_groups={"x": ComputeConfigScalingGroup(provider=ComputeProvider(type="nope"))})))
    assert err.value.status == RPCStatusCode.INVALID_ARGUMENT and "invalid compute provider type 'nope'" in err.value.message

    desc = await svc.describe_worker_deployment_version(
        DescribeWorkerDeploymentVersionRequest(namespace=ns, deployment_version=version))
    info = desc.worker_deployment_version_info
    assert info.status == WorkerDeploymentVersionStatus.WORKER_DEPLOYMENT_VERSION_STATUS_CREATED
    assert info.compute_config == cc

    act = {"act": ComputeConfigScalingGroupUpdate(scaling_group=ComputeConfigScalingGroup(
        task_queue_types=[TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY], provider=lam))}
    await svc.validate_worker_deployment_version_compute_config(ValidateWorkerDeploymentVersionComputeConfigRequest(
        namespace=ns, deployment_version=version, compute_config_scaling_groups=act))
    await svc.update_worker_deployment_version_compute_config(UpdateWorkerDeploymentVersionComputeConfigRequest(
        namespace=ns, deployment_version=version, compute_config_scaling_groups=act, identity="py2", request_id="u1"))
    desc = await svc.describe_worker_deployment_version(
        DescribeWorkerDeploymentVersionRequest(namespace=ns, deployment_version=version))
    assert sorted(desc.worker_deployment_version_info.compute_config.scaling_groups) == ["act", "wf"]
    assert desc.worker_deployment_version_info.last_modifier_identity == "py2"


async def test_workflow_rules(client):
    svc = client.workflow_service
    ns = client.namespace
    rule_id = f"py-rule-{uuid.uuid4().hex[:8]}"
    spec = WorkflowRuleSpec(
        id=rule_id,
        activity_start=WorkflowRuleSpec.ActivityStartingTrigger(predicate='ActivityType = "Nope"'),
        actions=[WorkflowRuleAction(activity_pause=WorkflowRuleAction.ActionActivityPause())])
    created = await svc.create_workflow_rule(CreateWorkflowRuleRequest(namespace=ns, spec=spec, identity="py", description="why"))
    assert created.rule.spec.id == rule_id and created.rule.created_by_identity == "py"
    described = await svc.describe_workflow_rule(DescribeWorkflowRuleRequest(namespace=ns, rule_id=rule_id))
    assert described.rule.description == "why"
    listed = await svc.list_workflow_rules(ListWorkflowRulesRequest(namespace=ns))
    assert rule_id in [r.spec.id for r in listed.rules]
    with pytest.raises(RPCError) as err:
        await svc.create_workflow_rule(CreateWorkflowRuleRequest(namespace=ns, spec=spec))
    assert err.value.status == RPCStatusCode.INVALID_ARGUMENT and "already exists" in err.value.message
    await svc.delete_workflow_rule(DeleteWorkflowRuleRequest(namespace=ns, rule_id=rule_id))
    with pytest.raises(RPCError) as err:
        await svc.describe_workflow_rule(DescribeWorkflowRuleRequest(namespace=ns, rule_id=rule_id))
    assert err.value.status == RPCStatusCode.INVALID_ARGUMENT
