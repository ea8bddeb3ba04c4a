-- Local queue pick-up (the full queue semantics come with the queue issue).

-- name: queue_claim
-- One statement: pick runnable rows by priority then age, skipping rows other
-- workers hold (FOR UPDATE SKIP LOCKED); free rows and rows whose lease expired
-- (their node died) are both runnable. Returns what a worker needs to run them.
WITH next AS (
  SELECT execution_id
    FROM execution_queue
   WHERE (lease_owner IS NULL AND visible_at <= now())
      OR (lease_owner IS NOT NULL AND lease_expires_at < now())
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
  RETURNING q.execution_id
)
SELECT e.id, e.tenant_id, e.actor_id, e.status, e.plan_hash, e.mode,
       '' AS error_class, '' AS error_message, coalesce(e.worker_id, '') AS worker_id,
       e.idempotency_key, e.plan_snapshot::text AS plan_json, e.state_snapshot,
       coalesce(e.request_id, '') AS request_id,
       coalesce(p.step_timeout_ms, 0) AS step_timeout_ms
  FROM claimed
  JOIN executions e ON e.id = claimed.execution_id
  LEFT JOIN timeout_policies p ON p.id = e.timeout_policy_id;

-- name: queue_renew
UPDATE execution_queue
   SET lease_expires_at = now() + make_interval(secs => $3 / 1000.0)
 WHERE lease_owner = $1
   AND execution_id IN (SELECT jsonb_array_elements_text($2::jsonb)::uuid);
