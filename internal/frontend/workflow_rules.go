package frontend

import (
	"context"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
)

// Workflow rules (engine/workflow_rules.go, execution/rules.go): rules
// that pause activities, with Temporal 1.31's checks and messages.
// Temporal ships them behind frontend.workflowRulesAPIsEnabled (off by
// default); Sundial offers them. TriggerWorkflowRule is not offered:
// Temporal 1.31 answers it Unimplemented whatever its configuration.

func (s *Service) CreateWorkflowRule(ctx context.Context, r *workflowservice.CreateWorkflowRuleRequest) (*workflowservice.CreateWorkflowRuleResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if r.Spec == nil {
		return nil, invalid("Rule Specification is not set.")
	}
	if r.Spec.Id == "" {
		return nil, invalid("Workflow Rule ID is not set.")
	}
	if len(r.Spec.Id) > maxIDLength {
		return nil, invalid("Workflow Rule Id length exceeds limit.")
	}
	rule, err := s.e.CreateWorkflowRule(ctx, r.Namespace, r.Spec, r.Identity, r.Description)
	if err != nil {
		return nil, err
	}
	return &workflowservice.CreateWorkflowRuleResponse{Rule: rule}, nil
}

func (s *Service) DescribeWorkflowRule(ctx context.Context, r *workflowservice.DescribeWorkflowRuleRequest) (*workflowservice.DescribeWorkflowRuleResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if r.RuleId == "" {
		return nil, invalid("Workflow Rule ID is not set.")
	}
	rule, err := s.e.DescribeWorkflowRule(r.Namespace, r.RuleId)
	if err != nil {
		return nil, err
	}
	return &workflowservice.DescribeWorkflowRuleResponse{Rule: rule}, nil
}

func (s *Service) DeleteWorkflowRule(ctx context.Context, r *workflowservice.DeleteWorkflowRuleRequest) (*workflowservice.DeleteWorkflowRuleResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if r.RuleId == "" {
		return nil, invalid("Workflow Rule ID is not set.")
	}
	if err := s.e.DeleteWorkflowRule(r.Namespace, r.RuleId); err != nil {
		return nil, err
	}
	return &workflowservice.DeleteWorkflowRuleResponse{}, nil
}

// ListWorkflowRules lists every rule of the namespace in one page (there
// are at most 10), as Temporal does.
func (s *Service) ListWorkflowRules(ctx context.Context, r *workflowservice.ListWorkflowRulesRequest) (*workflowservice.ListWorkflowRulesResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	return &workflowservice.ListWorkflowRulesResponse{Rules: s.e.ListWorkflowRules(r.Namespace)}, nil
}

// TriggerWorkflowRule is not offered, as in Temporal 1.31.
func (s *Service) TriggerWorkflowRule(ctx context.Context, r *workflowservice.TriggerWorkflowRuleRequest) (*workflowservice.TriggerWorkflowRuleResponse, error) {
	return nil, serviceerror.NewUnimplemented("method TriggerWorkflowRule not supported: Sundial does not offer it, as Temporal 1.31 does not (rules act on activities as they start or retry).")
}
