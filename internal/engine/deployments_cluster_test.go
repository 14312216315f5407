package engine

import (
	"testing"

	"github.com/sundial-io/sundial/internal/forward"
)

// The engine fences a deployment's writes with the shard the forwarder
// routes its RPCs to: both must name the same key.
func TestDeploymentKeyMatchesForward(t *testing.T) {
	for _, name := range []string{"d", "my-deployment", ""} {
		if deploymentKey(name) != forward.DeploymentKey(name) {
			t.Errorf("deploymentKey(%q) = %q, forward.DeploymentKey = %q", name, deploymentKey(name), forward.DeploymentKey(name))
		}
	}
}
