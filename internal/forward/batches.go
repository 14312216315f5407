package forward

import "go.temporal.io/api/workflowservice/v1"

// BatchJobKeyPrefix is the prefix of the shard key of a batch job.
// Temporal runs a job as a workflow whose id is the job id; Sundial runs
// jobs without a workflow but keys a job's shard by the prefixed id, so
// it cannot be confused with the shard of a user workflow of that id.
const BatchJobKeyPrefix = "temporal-sys-batch:"

// BatchJobKey is the shard key (with the namespace) of a batch job: the
// node holding that shard holds and runs the job.
func BatchJobKey(jobID string) string { return BatchJobKeyPrefix + jobID }

// BatchRouteOf returns the batch job a request is addressed to: Start,
// Stop and Describe carry a job id and go to its shard's owner. List
// carries none: every node answers it from the store.
func BatchRouteOf(req any) (ns, jobID string, ok bool) {
	switch r := req.(type) {
	case *workflowservice.StartBatchOperationRequest:
		ns, jobID = r.GetNamespace(), r.GetJobId()
	case *workflowservice.StopBatchOperationRequest:
		ns, jobID = r.GetNamespace(), r.GetJobId()
	case *workflowservice.DescribeBatchOperationRequest:
		ns, jobID = r.GetNamespace(), r.GetJobId()
	default:
		return "", "", false
	}
	return ns, jobID, ns != "" && jobID != ""
}
