-- Issue 4: per-asset locks (R-SAFE-2), execution deadlines (R-SAFE-7) and
-- cancellation requests (R-SAFE-6).

-- The SLA deadline of a started execution: started_at + timeout_ms (the policy's
-- execution_timeout_ms), set by the journal write that starts it. Stored so that a
-- new owner re-arms the same deadline.
ALTER TABLE executions ADD COLUMN deadline_at timestamptz;
UPDATE executions SET deadline_at = started_at + make_interval(secs => timeout_ms / 1000.0)
 WHERE started_at IS NOT NULL AND ended_at IS NULL AND timeout_ms IS NOT NULL;

-- A cancellation request: recorded by whichever gateway receives it (the first one
-- wins), carried out by the node holding the execution's lease, or by any node
-- when nobody holds it. cancelled_by/cancelled_at are set by the journal when the
-- execution actually ends cancelled.
ALTER TABLE executions ADD COLUMN cancel_requested_at timestamptz;
ALTER TABLE executions ADD COLUMN cancel_requested_by VARCHAR(200);
ALTER TABLE executions ADD COLUMN cancel_reason TEXT;
ALTER TABLE executions ADD CONSTRAINT valid_cancel_request
  CHECK ((cancel_requested_at IS NULL) = (cancel_requested_by IS NULL)
         AND (cancel_reason IS NULL OR octet_length(cancel_reason) <= 2000));

-- Every node polls for requests it must carry out: a tiny index of the open ones.
CREATE INDEX ix_exec_cancel_open ON executions (id)
  WHERE cancel_requested_at IS NOT NULL AND ended_at IS NULL;

-- Lock waits of a background execution: how often its claim found a target locked
-- (deferred without counting an attempt) and the key it last waited for.
ALTER TABLE execution_queue ADD COLUMN lock_waits INT NOT NULL DEFAULT 0;
ALTER TABLE execution_queue ADD COLUMN blocked_by VARCHAR(1200);

-- Keys escape ':' in the tenant and the action (%3A): room for the longest.
ALTER TABLE execution_locks ALTER COLUMN lock_key TYPE VARCHAR(1200);

-- The lock reaper looks for held locks whose lease expired.
CREATE INDEX ix_locks_expiry ON execution_locks (lease_expires_at)
  WHERE owner_execution_id IS NOT NULL;

-- What a worker needs to run an execution, in one shape for every claim and load
-- (the claim statements join their claimed rows to it).
CREATE VIEW execution_runnable AS
SELECT e.id, e.tenant_id, e.actor_id, e.status, e.plan_hash, e.mode,
       coalesce(e.worker_id, '') AS worker_id, e.idempotency_key,
       e.plan_snapshot::text AS plan_json, e.state_snapshot,
       coalesce(e.request_id, '') AS request_id,
       coalesce(p.step_timeout_ms, 0) AS step_timeout_ms,
       coalesce(e.timeout_ms, 0)::bigint AS execution_timeout_ms,
       CASE WHEN e.deadline_at IS NULL THEN -1 -- not started: no deadline yet
            ELSE greatest((extract(epoch FROM e.deadline_at - now()) * 1000)::bigint, 0)
       END AS deadline_in_ms,
       coalesce(e.cancel_requested_by, '') AS cancel_requested_by,
       coalesce(e.cancel_reason, '') AS cancel_reason
  FROM executions e
  LEFT JOIN timeout_policies p ON p.id = e.timeout_policy_id;

-- Takes the leases of queue rows the calling statement has row-locked (FOR UPDATE
-- SKIP LOCKED) for `node`: fence + 1, the lease sized by stagee_lease_ms, attempts
-- + 1 when the claim counts as an attempt (not for a claim made only to cancel).
-- One definition for every claim (queue_claim, cancel_claim_free).
CREATE FUNCTION stagee_take_leases(ids uuid[], node text, fixed_ms bigint, buffer_ms bigint,
                                   count_attempt boolean)
RETURNS TABLE (execution_id uuid, fence bigint, lease_ms bigint, queue_wait_ms bigint)
LANGUAGE sql AS $$
  UPDATE execution_queue q
     SET lease_owner = node,
         lease_expires_at = now() + make_interval(secs => sized.ms / 1000.0),
         fence = q.fence + 1,
         attempts = q.attempts + CASE WHEN count_attempt THEN 1 ELSE 0 END
    FROM (SELECT i AS id, stagee_lease_ms(i, fixed_ms, buffer_ms) AS ms
            FROM unnest(ids) AS i) sized
   WHERE q.execution_id = sized.id
  RETURNING q.execution_id, q.fence, sized.ms,
            (extract(epoch FROM now() - q.enqueued_at) * 1000)::bigint
$$;
