-- Cluster membership (R-CL-1): one row per node name, written by that node's
-- membership actor every heartbeat. Tools read it (`stagee cluster status`); nodes
-- use it as the second, independent signal that a peer is dead: a member whose CAF
-- link is down AND whose own heartbeat here is stale may have its leases expired
-- early (docs/cluster.md). The database clock decides staleness (ADR 0008).

CREATE TABLE cluster_members (
  name        VARCHAR(100) PRIMARY KEY,  -- --node-name; the lease owner in execution_queue
  node_id     TEXT NOT NULL,             -- CAF node id of the current incarnation
  address     TEXT NOT NULL,             -- HOST:PORT of its gateway port
  capacity    INT NOT NULL,
  load        INT NOT NULL DEFAULT 0,
  state       VARCHAR(16) NOT NULL DEFAULT 'up',
  tls         BOOLEAN NOT NULL DEFAULT false,
  started_at  timestamptz NOT NULL,
  last_seen   timestamptz NOT NULL DEFAULT now(),
  dead_at     timestamptz,               -- set when declared dead (early lease expiry)
  dead_by     VARCHAR(100),              -- the member that declared it
  CONSTRAINT valid_member_state CHECK (state IN ('up', 'draining', 'left', 'dead'))
);

-- Early expiry and `cluster status` look leases and locks up by owner.
CREATE INDEX ix_queue_lease_owner ON execution_queue (lease_owner) WHERE lease_owner IS NOT NULL;
CREATE INDEX ix_locks_owner_node ON execution_locks (owner_node) WHERE owner_node IS NOT NULL;
