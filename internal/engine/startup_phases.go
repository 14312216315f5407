package engine

import (
	"fmt"
	"time"
)

// Phase is one timed step of building an engine (New), for the server's
// startup line: after a crash with a large store, the time to the first
// answer is the sum of these and the store's open, so each is named.
type Phase struct {
	Name string
	Took time.Duration
}

// StartupPhases returns the steps New took, in order.
func (e *Engine) StartupPhases() []Phase { return e.phases }

// loadAtStart reads what the engine keeps in memory from the store:
// namespaces, Nexus endpoints, task queue configurations, worker
// deployments and standalone activity executions (each a small table, not
// proportional to the runs stored), and starts counting the open runs in
// the background. Each step is timed (StartupPhases).
func (e *Engine) loadAtStart() error {
	steps := []struct {
		name string
		load func() error
	}{
		{"namespaces", e.loadNamespaces},
		{"nexus_endpoints", e.loadNexusEndpoints},
		{"task_queue_configs", e.loadTaskQueueConfigs},
		{"deployments", e.loadDeployments},
		{"workflow_rules", e.loadWorkflowRules},
		{"count_open_runs", func() error {
			if err := e.countOpenRuns(); err != nil {
				return fmt.Errorf("counting open runs: %w", err)
			}
			return nil
		}},
		{"activity_executions", e.loadActivityExecutions},
		{"nexus_operations", e.loadNexusOperations},
		{"http_callbacks", e.redriveHTTPCallbacks},
	}
	for _, s := range steps {
		began := time.Now()
		if err := s.load(); err != nil {
			return err
		}
		e.phases = append(e.phases, Phase{s.name, time.Since(began)})
	}
	return nil
}
