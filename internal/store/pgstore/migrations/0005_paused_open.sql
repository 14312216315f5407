-- Schema version 5: a paused run (PauseWorkflowExecution, status 8) is
-- open like a running one (status 1), so the partial index of open
-- visibility rows (OpenRuns) covers both.
DROP INDEX visibility_open;
CREATE INDEX visibility_open ON visibility (namespace, run_id) WHERE status IN (1, 8);
