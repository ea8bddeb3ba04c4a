-- Local queue pick-up (the full queue semantics come with the queue issue).

-- name: queue_claim
-- One statement: pick free rows by priority then age, skipping rows other workers
-- are claiming (FOR UPDATE SKIP LOCKED); the partial index ix_queue_claim matches.
-- Rows whose lease expired become free through queue_reap. Returns what a worker
-- needs to run them, with the new fencing token and the time spent queued.
WITH next AS (
  SELECT execution_id
    FROM execution_queue
   WHERE lease_owner IS NULL AND visible_at <= now()
   ORDER BY priority, enqueued_at
   LIMIT $2
     FOR UPDATE SKIP LOCKED
), claimed AS (
  UPDATE execution_queue q
     SET lease_owner = $1,
         lease_expires_at = now() + make_interval(secs => $3 / 1000.0),
         fence = q.fence + 1,
         attempts = q.attempts + 1
    FROM next
   WHERE q.execution_id = next.execution_id
  RETURNING q.execution_id, q.fence,
            (extract(epoch FROM now() - q.enqueued_at) * 1000)::bigint AS queue_wait_ms
)
SELECT e.id, e.tenant_id, e.actor_id, e.status, e.plan_hash, e.mode,
       '' AS error_class, '' AS error_message, coalesce(e.worker_id, '') AS worker_id,
       e.idempotency_key, e.plan_snapshot::text AS plan_json, e.state_snapshot,
       coalesce(e.request_id, '') AS request_id, claimed.fence, claimed.queue_wait_ms,
       coalesce(p.step_timeout_ms, 0) AS step_timeout_ms
  FROM claimed
  JOIN executions e ON e.id = claimed.execution_id
  LEFT JOIN timeout_policies p ON p.id = e.timeout_policy_id;

-- name: queue_renew
-- Renews only leases still held with the same fencing token; the ids returned are
-- the renewed ones, every other requested lease is lost to another owner.
WITH renewed AS (
  UPDATE execution_queue q
     SET lease_expires_at = now() + make_interval(secs => $3 / 1000.0)
    FROM jsonb_to_recordset($2::jsonb) AS x(execution_id uuid, fence bigint)
   WHERE q.execution_id = x.execution_id AND q.lease_owner = $1 AND q.fence = x.fence
  RETURNING q.execution_id
), counted AS (
  UPDATE executions e SET lease_renewals = e.lease_renewals + 1
    FROM renewed WHERE e.id = renewed.execution_id
  RETURNING e.id
)
SELECT execution_id::text FROM renewed;

-- name: queue_release
-- Graceful shutdown: hand leases back (only those still held with the same fence).
UPDATE execution_queue q
   SET lease_owner = NULL, lease_expires_at = NULL, visible_at = now()
  FROM jsonb_to_recordset($2::jsonb) AS x(execution_id uuid, fence bigint)
 WHERE q.execution_id = x.execution_id AND q.lease_owner = $1 AND q.fence = x.fence
RETURNING q.execution_id::text;

-- name: queue_reap
-- The reaper (R-Q-5): leases whose expiry passed by the database clock become free;
-- the next claim bumps the fence, so the old holder can no longer write.
UPDATE execution_queue q
   SET lease_owner = NULL, lease_expires_at = NULL, visible_at = now()
  FROM (SELECT execution_id, lease_owner FROM execution_queue
         WHERE lease_owner IS NOT NULL AND lease_expires_at < now()
           FOR UPDATE SKIP LOCKED) expired
 WHERE q.execution_id = expired.execution_id
RETURNING q.execution_id::text, expired.lease_owner;
