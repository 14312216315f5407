// Package frontend implements Temporal's WorkflowService gRPC API on top of
// the engine: it validates requests (clear InvalidArgument errors naming
// the field), checks the namespace and translates to engine calls. RPCs
// Sundial does not implement answer Unimplemented with a message naming
// the feature; those it deliberately does not offer answer as Temporal
// does when that feature is off (notoffered.go).
package frontend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sundial-io/sundial/internal/batch"
	"github.com/sundial-io/sundial/internal/engine"
	"github.com/sundial-io/sundial/internal/version"
	"github.com/sundial-io/sundial/internal/workers"
)

// Version is reported by GetSystemInfo and GetClusterInfo.
const Version = version.Version

// Service is the WorkflowService implementation.
type Service struct {
	workflowservice.UnimplementedWorkflowServiceServer
	e       *engine.Engine
	log     *slog.Logger
	workers *workers.Registry
	batch   *batch.Batcher // nil: the batch RPCs are Unimplemented
}

// New returns the service.
func New(e *engine.Engine, log *slog.Logger) *Service {
	return &Service{e: e, log: log, workers: workers.New()}
}

// Interceptor turns service errors into gRPC statuses with Temporal's
// error details (serviceerror types do not implement GRPCStatus), maps
// context errors, says which feature an RPC not built yet belongs to
// (notoffered.go), and turns a panic in a handler into an Internal error so
// one bad request cannot take the server down.
func Interceptor(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("panic in request handler", "method", info.FullMethod, "panic", r, "stack", string(debug.Stack()))
				resp, err = nil, status.Errorf(codes.Internal, "internal error in %s: %v", info.FullMethod, r)
			}
		}()
		resp, err = h(ctx, req)
		if err != nil {
			err = explainUnimplemented(info.FullMethod, toStatus(err))
		}
		return resp, err
	}
}

func toStatus(err error) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return serviceerror.ToStatus(err).Err()
}

func invalid(format string, args ...any) error {
	return serviceerror.NewInvalidArgument(fmt.Sprintf(format, args...))
}

const maxIDLength = 1000

func (s *Service) ns(name string) error {
	if name == "" {
		return invalid("Namespace is not set on request.")
	}
	return s.e.CheckNamespace(name)
}

func checkID(field, v string) error {
	if v == "" {
		return invalid("%s is not set on request.", field)
	}
	if len(v) > maxIDLength {
		return invalid("%s exceeds length limit. Length=%d Limit=%d", field, len(v), maxIDLength)
	}
	return nil
}

func checkDuration(field string, d interface{ AsDuration() time.Duration }, set bool) error {
	if set && d.AsDuration() < 0 {
		return invalid("Invalid %s: must not be negative.", field)
	}
	return nil
}

// GetSystemInfo advertises the capabilities Sundial really supports.
func (s *Service) GetSystemInfo(ctx context.Context, r *workflowservice.GetSystemInfoRequest) (*workflowservice.GetSystemInfoResponse, error) {
	return &workflowservice.GetSystemInfoResponse{
		ServerVersion: Version,
		Capabilities: &workflowservice.GetSystemInfoResponse_Capabilities{
			SignalAndQueryHeader:            true,
			InternalErrorDifferentiation:    true,
			ActivityFailureIncludeHeartbeat: true,
			SupportsSchedules:               true,
			EncodedFailureAttributes:        true,
			UpsertMemo:                      true,
			EagerWorkflowStart:              true, // StartWorkflowExecution honours request_eager_execution
			SdkMetadata:                     true,
			CountGroupByExecutionStatus:     true,
			Nexus:                           true,
		},
	}, nil
}

// GetClusterInfo describes this single-node cluster.
func (s *Service) GetClusterInfo(ctx context.Context, r *workflowservice.GetClusterInfoRequest) (*workflowservice.GetClusterInfoResponse, error) {
	return &workflowservice.GetClusterInfoResponse{
		SupportedClients:  map[string]string{},
		ServerVersion:     Version,
		ClusterId:         clusterID,
		ClusterName:       clusterName,
		HistoryShardCount: 1,
		PersistenceStore:  "pebble",
		VisibilityStore:   "pebble",
	}, nil
}

func (s *Service) RegisterNamespace(ctx context.Context, r *workflowservice.RegisterNamespaceRequest) (*workflowservice.RegisterNamespaceResponse, error) {
	if err := checkID("Namespace", r.Namespace); err != nil {
		return nil, err
	}
	if r.WorkflowExecutionRetentionPeriod.AsDuration() < 0 {
		return nil, invalid("WorkflowExecutionRetentionPeriod must not be negative.")
	}
	if err := checkRegisterOffered(r); err != nil {
		return nil, err
	}
	if _, err := s.e.RegisterNamespace(ctx, r); err != nil {
		return nil, err
	}
	return &workflowservice.RegisterNamespaceResponse{}, nil
}

func (s *Service) DescribeNamespace(ctx context.Context, r *workflowservice.DescribeNamespaceRequest) (*workflowservice.DescribeNamespaceResponse, error) {
	if r.Namespace == "" && r.Id == "" {
		return nil, invalid("Namespace or Id is not set on request.")
	}
	return s.e.DescribeNamespace(r.Namespace, r.Id)
}

func (s *Service) ListNamespaces(ctx context.Context, r *workflowservice.ListNamespacesRequest) (*workflowservice.ListNamespacesResponse, error) {
	all := s.e.ListNamespaces()
	out := all[:0]
	for _, n := range all {
		// Deleted namespaces are listed only on request, as in Temporal.
		if n.GetNamespaceInfo().GetState() != enumspb.NAMESPACE_STATE_DELETED || r.GetNamespaceFilter().GetIncludeDeleted() {
			out = append(out, n)
		}
	}
	return &workflowservice.ListNamespacesResponse{Namespaces: out}, nil
}
