package webui_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
)

// TestWebUIPages checks the Web UI's pages for the features built after the
// workflow pages: standalone activities, worker deployments, Nexus
// endpoints, schedules, Reset and batch jobs. It makes one of each through
// the Go SDK and gRPC, then opens each page in Chromium and checks that it
// shows them, with no error on the page and no failed API call behind it.
func TestWebUIPages(t *testing.T) {
	chromium := findChromium(t)
	bin := buildSundial(t, t.TempDir())
	srv := startSundial(t, bin)

	c, err := client.Dial(client.Options{HostPort: srv.addr, Logger: quietLogger{}})
	if err != nil {
		t.Fatalf("dial %s: %v", srv.addr, err)
	}
	defer c.Close()
	startPagesWorkers(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	data := makePagesData(t, ctx, c)

	b := newBrowser(t, chromium)
	w := watchAPI(b)
	ns := srv.ui + "/namespaces/default"

	t.Run("StandaloneActivities", func(t *testing.T) {
		b.t = t
		b.open("activities list", ns+"/activities", activityID)
		b.waitRows("activities list", "a row for the standalone activity", func(rows []string) bool {
			return hasRow(rows, "COMPLETED", activityID, data.activityRunID, "ComposeGreeting")
		})
		checkPage(b, w, "activities list")
		b.screenshot("standalone-activities")
		b.open("activity page", ns+"/activities/"+url.PathEscape(activityID)+"/"+data.activityRunID,
			activityID, "ComposeGreeting", pagesQueue, "Hello, Standalone!")
		checkPage(b, w, "activity page")
		b.screenshot("standalone-activity")
	})

	t.Run("WorkerDeployments", func(t *testing.T) {
		b.t = t
		b.open("deployments list", ns+"/workers/deployments", deploymentName)
		b.waitRows("deployments list", "a row for the deployment with its current version", func(rows []string) bool {
			return hasRow(rows, deploymentName, buildID)
		})
		checkPage(b, w, "deployments list")
		b.screenshot("worker-deployments")
		b.open("deployment page", ns+"/workers/deployments/"+url.PathEscape(deploymentName), deploymentName, buildID, "Current")
		checkPage(b, w, "deployment page")
		b.screenshot("worker-deployment")
	})

	t.Run("NexusEndpoints", func(t *testing.T) {
		b.t = t
		b.open("nexus list", srv.ui+"/nexus", endpointName)
		checkPage(b, w, "nexus list")
		b.screenshot("nexus-endpoints")
		b.open("endpoint page", srv.ui+"/nexus/"+data.endpointID, endpointName, "default", pagesQueue, "Task Queue is Active")
		checkPage(b, w, "endpoint page")
		b.screenshot("nexus-endpoint")
	})

	t.Run("Schedules", func(t *testing.T) {
		b.t = t
		b.open("schedules list", ns+"/schedules", scheduleID)
		b.waitRows("schedules list", "a row for the schedule", func(rows []string) bool {
			return hasRow(rows, scheduleID, "Greet")
		})
		checkPage(b, w, "schedules list")
		b.screenshot("schedules")
		b.open("schedule page", ns+"/schedules/"+url.PathEscape(scheduleID), scheduleID, "RUNNING", "Greet", scheduledWF, "Every 1 hour(s)")
		checkPage(b, w, "schedule page")
		b.screenshot("schedule")
	})

	t.Run("BatchOperations", func(t *testing.T) {
		b.t = t
		b.open("batch list", ns+"/batch-operations", batchJobID)
		b.waitRows("batch list", "a row for the finished job", func(rows []string) bool {
			return hasRow(rows, "COMPLETED", batchJobID, "TERMINATE")
		})
		checkPage(b, w, "batch list")
		b.screenshot("batch-list")
		b.open("batch page", ns+"/batch-operations/"+url.PathEscape(batchJobID), batchJobID, "COMPLETED", batchReason)
		checkPage(b, w, "batch page")
		b.screenshot("batch-job")
	})
}
