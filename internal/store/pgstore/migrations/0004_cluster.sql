-- Schema version 4: the tables of a cluster of Sundial nodes sharing this
-- database (internal/cluster, docs/CLUSTER.md). A single node never
-- writes them; pgstore reads shard_leases to fence batches that carry a
-- store.Fence.

-- One row, written by the first node of the cluster: the shard count is
-- fixed for the cluster's life (it decides where every workflow lives).
CREATE TABLE cluster_meta (
	id          INT PRIMARY KEY,
	shard_count INT NOT NULL,
	created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Membership: a row per node, heartbeat_at set from the database's clock.
CREATE TABLE nodes (
	node_id      TEXT PRIMARY KEY,
	address      TEXT NOT NULL,
	heartbeat_at TIMESTAMPTZ NOT NULL,
	joined_at    TIMESTAMPTZ NOT NULL
);

-- A lease per shard: owner NULL when free; epoch rises by one at every
-- change of owner and never falls; expires_at from the database's clock.
CREATE TABLE shard_leases (
	shard      INT PRIMARY KEY,
	owner      TEXT,
	epoch      BIGINT NOT NULL,
	expires_at TIMESTAMPTZ NOT NULL
);
