package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sundial-io/sundial/internal/engine"
)

// setUp registers the namespaces and search attributes the configuration
// asks for, as the dev server's --namespace and --search-attribute do.
// Both are idempotent, so a restart over the same data dir with the same
// flags is fine; an attribute registered before with another type is an
// error.
func setUp(e *engine.Engine, cfg Config) error {
	ctx := context.Background()
	for _, ns := range cfg.Namespaces {
		if e.CheckNamespace(ns) == nil {
			continue
		}
		_, err := e.RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
			Namespace:                        ns,
			WorkflowExecutionRetentionPeriod: durationpb.New(defaultRetention),
		})
		var exists *serviceerror.NamespaceAlreadyExists
		if err != nil && !errors.As(err, &exists) {
			return fmt.Errorf("creating namespace %q: %w", ns, err)
		}
	}
	if len(cfg.SearchAttributes) == 0 {
		return nil
	}
	for _, ns := range append([]string{engine.DefaultNamespace}, cfg.Namespaces...) {
		if err := e.AddSearchAttributes(ctx, ns, cfg.SearchAttributes); err != nil {
			return fmt.Errorf("registering search attributes in namespace %q: %w", ns, err)
		}
	}
	return nil
}

// defaultRetention is the retention of namespaces created at start, the
// dev server's (and the default namespace's) one day.
const defaultRetention = 24 * time.Hour

// listenError names why a port cannot be used.
func listenError(what, addr string, err error) error {
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("%s address %s is already in use by another process", what, addr)
	case errors.Is(err, syscall.EACCES):
		return fmt.Errorf("%s address %s: permission denied (ports below 1024 need privileges)", what, addr)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return fmt.Errorf("%s address %s: the IP is not an address of this machine", what, addr)
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return fmt.Errorf("%s address %s: %v", what, addr, oe.Err)
	}
	return fmt.Errorf("%s address %s: %w", what, addr, err)
}
