-- Schema version 2: the due index (a run's next attention time, see
-- store.RunRecord.Due). It is a column of the run, written with its record,
-- so moving a run's due never needs the previous value; the partial index
-- holds only runs that have one.
ALTER TABLE runs ADD COLUMN due TIMESTAMPTZ;
CREATE INDEX runs_due ON runs (due, namespace, run_id) WHERE due IS NOT NULL;
