-- Stage E initial schema (R-DB-1, R-DB-2). timestamptz everywhere; every index is
-- created by its own statement; named CHECK constraints.

CREATE TYPE execution_status AS ENUM (
  'pending', 'awaiting_approval', 'queued', 'running',
  'succeeded', 'failed', 'cancelled', 'rejected');
CREATE TYPE execution_mode AS ENUM ('immediate', 'background');
CREATE TYPE sla_class AS ENUM ('fast', 'medium', 'long');
CREATE TYPE approval_state AS ENUM ('pending', 'approved', 'rejected', 'invalidated');
CREATE TYPE step_status AS ENUM (
  'pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled', 'timed_out');
CREATE TYPE action_class AS ENUM ('read', 'modify', 'deploy');

-- One row per SLA class x action class (R-SAFE-7); ids like 'fast_read'.
CREATE TABLE timeout_policies (
  id                   VARCHAR(50) PRIMARY KEY,
  sla_class            sla_class    NOT NULL,
  action_class         action_class NOT NULL,
  execution_timeout_ms INT          NOT NULL,
  step_timeout_ms      INT          NOT NULL,
  created_at           timestamptz  NOT NULL DEFAULT now(),
  CONSTRAINT valid_policy_timeouts
    CHECK (execution_timeout_ms > 0 AND step_timeout_ms > 0
           AND step_timeout_ms <= execution_timeout_ms)
);

CREATE UNIQUE INDEX ux_timeout_policies_class ON timeout_policies (sla_class, action_class);

INSERT INTO timeout_policies (id, sla_class, action_class, execution_timeout_ms, step_timeout_ms) VALUES
  ('fast_read',     'fast',   'read',     10000,   5000),
  ('fast_modify',   'fast',   'modify',   10000,   8000),
  ('fast_deploy',   'fast',   'deploy',   10000,  10000),
  ('medium_read',   'medium', 'read',     30000,  10000),
  ('medium_modify', 'medium', 'modify',   30000,  20000),
  ('medium_deploy', 'medium', 'deploy',   30000,  30000),
  ('long_read',     'long',   'read',    600000, 120000),
  ('long_modify',   'long',   'modify',  600000, 300000),
  ('long_deploy',   'long',   'deploy',  600000, 600000);

CREATE TABLE executions (
  id                      uuid PRIMARY KEY,
  tenant_id               VARCHAR(128) NOT NULL,
  actor_id                VARCHAR(128) NOT NULL,  -- submitting principal
  request_id              VARCHAR(128),
  plan_name               TEXT NOT NULL,
  action                  VARCHAR(100) NOT NULL,
  action_class            action_class NOT NULL,
  sla_class               sla_class NOT NULL,
  environment             VARCHAR(100) NOT NULL,
  priority                INT NOT NULL DEFAULT 50,
  mode                    execution_mode NOT NULL,
  status                  execution_status NOT NULL DEFAULT 'pending',
  plan_snapshot           JSONB NOT NULL,         -- frozen canonical plan; what runs (R-SUB-5)
  plan_hash               VARCHAR(64) NOT NULL,   -- sha256 hex of the canonical plan
  idempotency_key         VARCHAR(128) NOT NULL,
  timed_out               BOOLEAN NOT NULL DEFAULT false,
  timeout_ms              INT,
  timeout_policy_id       VARCHAR(50) REFERENCES timeout_policies (id),
  worker_id               VARCHAR(100),           -- node that last journaled for it
  lease_renewals          INT NOT NULL DEFAULT 0,
  cancel_checks_performed INT NOT NULL DEFAULT 0,
  last_transition_at      timestamptz,
  last_transition_by      VARCHAR(200),
  last_transition_from    execution_status,
  cancelled_by            VARCHAR(200),
  cancelled_at            timestamptz,
  result_summary          TEXT,
  error_class             VARCHAR(100),
  error_message           TEXT,
  last_event_seq          BIGINT NOT NULL DEFAULT 0, -- journal guard: writes expect this value
  state_snapshot          BYTEA,                  -- msgpack FSM snapshot (persistence/snapshot_codec)
  created_at              timestamptz NOT NULL DEFAULT now(),
  started_at              timestamptz,
  ended_at                timestamptz,
  updated_at              timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT valid_cancellation CHECK ((cancelled_by IS NULL) = (cancelled_at IS NULL)),
  CONSTRAINT valid_result_size CHECK (result_summary IS NULL OR octet_length(result_summary) <= 10240),
  CONSTRAINT valid_timing CHECK ((started_at IS NULL OR started_at >= created_at)
                                 AND (ended_at IS NULL OR started_at IS NULL OR ended_at >= started_at)),
  CONSTRAINT valid_timeout CHECK (timeout_ms IS NULL OR timeout_ms > 0),
  CONSTRAINT valid_priority CHECK (priority BETWEEN 0 AND 100)
);

CREATE UNIQUE INDEX ux_exec_tenant_idem ON executions (tenant_id, idempotency_key);
CREATE INDEX ix_exec_tenant_status ON executions (tenant_id, status);
CREATE INDEX ix_exec_created_at ON executions (created_at);

CREATE TABLE execution_steps (
  id               BIGSERIAL PRIMARY KEY,
  execution_id     uuid NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
  run_index        INT NOT NULL,      -- position in the execution's run list
  step_index       INT NOT NULL,
  name             VARCHAR(64) NOT NULL,
  target           VARCHAR(253) NOT NULL,
  status           step_status NOT NULL DEFAULT 'pending',
  attempt          INT NOT NULL DEFAULT 0,
  exit_code        INT,
  stdout           TEXT,
  stderr           TEXT,
  output_truncated BOOLEAN NOT NULL DEFAULT false,
  error            TEXT,
  started_at       timestamptz,
  ended_at         timestamptz,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT valid_step_timing CHECK (ended_at IS NULL OR started_at IS NULL OR ended_at >= started_at)
);

CREATE UNIQUE INDEX ux_steps_exec_run ON execution_steps (execution_id, run_index);

CREATE TABLE execution_events (
  id           BIGSERIAL PRIMARY KEY,
  execution_id uuid NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
  seq          BIGINT NOT NULL,       -- 1, 2, 3, ... per execution, no gaps
  kind         VARCHAR(40) NOT NULL,
  payload      JSONB NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX ux_events_exec_seq ON execution_events (execution_id, seq);

CREATE TABLE approvals (
  id           BIGSERIAL PRIMARY KEY,
  execution_id uuid NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
  level        INT NOT NULL,
  step_name    VARCHAR(64),          -- level 3: the step this approval is for
  state        approval_state NOT NULL DEFAULT 'pending',
  plan_hash    VARCHAR(64) NOT NULL, -- the plan the approver reviewed
  principal    VARCHAR(200),
  auth_method  VARCHAR(50),
  source_ip    VARCHAR(64),
  reason       TEXT,
  created_at   timestamptz NOT NULL DEFAULT now(),
  decided_at   timestamptz,
  CONSTRAINT valid_approval_level CHECK (level BETWEEN 0 AND 3)
);

CREATE INDEX ix_approvals_execution ON approvals (execution_id);

-- Work queue shared by all nodes. A row exists while its execution is not terminal.
CREATE TABLE execution_queue (
  execution_id     uuid PRIMARY KEY REFERENCES executions (id) ON DELETE CASCADE,
  tenant_id        VARCHAR(128) NOT NULL,
  priority         INT NOT NULL DEFAULT 50,
  enqueued_at      timestamptz NOT NULL DEFAULT now(),
  visible_at       timestamptz NOT NULL DEFAULT now(), -- not claimable before
  lease_owner      VARCHAR(100),                       -- node holding it; NULL: free
  lease_expires_at timestamptz,
  fence            BIGINT NOT NULL DEFAULT 0,          -- +1 on every claim
  attempts         INT NOT NULL DEFAULT 0
);

CREATE INDEX ix_queue_claim ON execution_queue (priority, enqueued_at) WHERE lease_owner IS NULL;
CREATE INDEX ix_queue_lease_expiry ON execution_queue (lease_expires_at) WHERE lease_owner IS NOT NULL;

CREATE TABLE execution_dlq (
  id              BIGSERIAL PRIMARY KEY,
  execution_id    uuid NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
  tenant_id       VARCHAR(128) NOT NULL,
  failure_reason  TEXT NOT NULL,
  error_class     VARCHAR(100),
  attempts        INT NOT NULL,
  moved_at        timestamptz NOT NULL DEFAULT now(),
  archived_at     timestamptz
);

CREATE INDEX ix_dlq_tenant_moved ON execution_dlq (tenant_id, moved_at);

CREATE TABLE execution_locks (
  lock_key           VARCHAR(600) PRIMARY KEY,  -- lock:v1:{tenant_id}:{target_ref}:{action}
  tenant_id          VARCHAR(128) NOT NULL,
  target_ref         VARCHAR(253) NOT NULL,
  action             VARCHAR(100) NOT NULL,
  owner_execution_id uuid,                      -- NULL: free (the row keeps the fence)
  owner_node         VARCHAR(100),
  fence              BIGINT NOT NULL DEFAULT 0, -- +1 on every grant
  acquired_at        timestamptz,
  lease_expires_at   timestamptz,
  CONSTRAINT valid_lock_owner CHECK ((owner_execution_id IS NULL) = (lease_expires_at IS NULL))
);

CREATE INDEX ix_locks_owner ON execution_locks (owner_execution_id);
