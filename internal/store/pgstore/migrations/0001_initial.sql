-- Sundial schema, version 1. Ids are BYTEA, not TEXT: namespace, workflow
-- and run ids may hold any bytes, NUL included, which TEXT refuses. BYTEA
-- compares byte by byte, the order the store's contract is written in.

CREATE TABLE namespaces (
	name BYTEA PRIMARY KEY,
	info BYTEA NOT NULL -- DescribeNamespaceResponse
);

CREATE TABLE search_attributes (
	namespace BYTEA PRIMARY KEY,
	registry  BYTEA NOT NULL -- ListSearchAttributesResponse (custom attributes)
);

-- One row per run: store.RunRecord in the encoding every store shares
-- (store.RunRecord.Marshal). Rewritten on every change of the run.
CREATE TABLE runs (
	namespace   BYTEA NOT NULL,
	run_id      BYTEA NOT NULL,
	workflow_id BYTEA NOT NULL,
	record      BYTEA NOT NULL,
	PRIMARY KEY (namespace, run_id)
);

-- History, one row per appended batch of events (a historypb.History),
-- keyed by its first event id.
CREATE TABLE history (
	namespace      BYTEA  NOT NULL,
	run_id         BYTEA  NOT NULL,
	first_event_id BIGINT NOT NULL,
	last_event_id  BIGINT NOT NULL,
	events         BYTEA  NOT NULL,
	PRIMARY KEY (namespace, run_id, first_event_id)
);

CREATE TABLE current_runs (
	namespace   BYTEA NOT NULL,
	workflow_id BYTEA NOT NULL,
	run_id      BYTEA NOT NULL,
	PRIMARY KEY (namespace, workflow_id)
);

-- The visibility index: one row per run, written when the run starts,
-- closes or is reopened (not on every workflow task). list_key sorts in
-- Temporal's list order (see visibility.go) and is the ListRuns cursor;
-- summary holds a closed run's WorkflowExecutionInfo (an open run's is
-- read from its record).
CREATE TABLE visibility (
	namespace     BYTEA    NOT NULL,
	run_id        BYTEA    NOT NULL,
	list_key      BYTEA    NOT NULL,
	status        SMALLINT NOT NULL,
	workflow_type BYTEA    NOT NULL,
	task_queue    BYTEA    NOT NULL,
	summary       BYTEA,
	PRIMARY KEY (namespace, run_id)
);
CREATE UNIQUE INDEX visibility_list ON visibility (namespace, list_key);
CREATE INDEX visibility_status ON visibility (namespace, status);
CREATE INDEX visibility_type ON visibility (namespace, workflow_type, status);
CREATE INDEX visibility_queue ON visibility (namespace, task_queue, status);
CREATE INDEX visibility_open ON visibility (namespace, run_id) WHERE status = 1;

CREATE TABLE schedules (
	namespace   BYTEA NOT NULL,
	schedule_id BYTEA NOT NULL,
	state       BYTEA NOT NULL,
	PRIMARY KEY (namespace, schedule_id)
);

CREATE TABLE batch_jobs (
	namespace BYTEA NOT NULL,
	job_id    BYTEA NOT NULL,
	state     BYTEA NOT NULL,
	PRIMARY KEY (namespace, job_id)
);

CREATE TABLE nexus_endpoints (
	id    BYTEA PRIMARY KEY,
	state BYTEA NOT NULL
);
