-- Schema version 3: more opaque records under keys, like schedules.
-- Generic keyed records (store.KeyedRecord): one key space per kind.
CREATE TABLE records (
	kind  BYTEA NOT NULL,
	key   BYTEA NOT NULL,
	state BYTEA NOT NULL,
	PRIMARY KEY (kind, key)
);

-- Standalone activity executions, by namespace, activity id and run id.
CREATE TABLE activity_executions (
	namespace   BYTEA NOT NULL,
	activity_id BYTEA NOT NULL,
	run_id      BYTEA NOT NULL,
	state       BYTEA NOT NULL,
	PRIMARY KEY (namespace, activity_id, run_id)
);

-- Worker deployments, by namespace and name.
CREATE TABLE worker_deployments (
	namespace BYTEA NOT NULL,
	name      BYTEA NOT NULL,
	state     BYTEA NOT NULL,
	PRIMARY KEY (namespace, name)
);
