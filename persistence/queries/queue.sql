-- The shared execution queue: claims, leases, renewals, the reaper (R-Q-1..5).

-- name: queue_claim
-- One statement: pick free rows by priority then age, skipping rows other workers
-- are claiming (FOR UPDATE SKIP LOCKED); the partial index ix_queue_claim matches.
-- Rows whose lease expired become free through queue_reap. The lease length of each
-- row is stagee_lease_ms (migration 0003): $3 > 0 fixes it, $4 is the buffer added
-- to the longest step timeout. Returns what a worker needs to run them, with the
-- new fencing token, the lease length and the time spent queued.
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
         lease_expires_at = now() + make_interval(secs => sized.lease_ms / 1000.0),
         fence = q.fence + 1,
         attempts = q.attempts + 1
    FROM (SELECT execution_id, stagee_lease_ms(execution_id, $3, $4) AS lease_ms
            FROM next) sized
   WHERE q.execution_id = sized.execution_id
  RETURNING q.execution_id, q.fence, sized.lease_ms,
            (extract(epoch FROM now() - q.enqueued_at) * 1000)::bigint AS queue_wait_ms
)
SELECT e.id, e.tenant_id, e.actor_id, e.status, e.plan_hash, e.mode,
       '' AS error_class, '' AS error_message, coalesce(e.worker_id, '') AS worker_id,
       e.idempotency_key, e.plan_snapshot::text AS plan_json, e.state_snapshot,
       coalesce(e.request_id, '') AS request_id, claimed.fence, claimed.queue_wait_ms,
       coalesce(p.step_timeout_ms, 0) AS step_timeout_ms, claimed.lease_ms
  FROM claimed
  JOIN executions e ON e.id = claimed.execution_id
  LEFT JOIN timeout_policies p ON p.id = e.timeout_policy_id;

-- name: queue_renew
-- Renews only leases still held with the same fencing token, each for its own
-- length; the ids returned are the renewed ones, every other requested lease is
-- lost to another owner. Counts renewals on the queue row only (one table: no lock
-- order to get wrong against the journal, which copies the count into
-- executions.lease_renewals).
UPDATE execution_queue q
   SET lease_expires_at = now() + make_interval(secs => x.lease_ms / 1000.0),
       lease_renewals = q.lease_renewals + 1
  FROM jsonb_to_recordset($2::jsonb) AS x(execution_id uuid, fence bigint, lease_ms bigint)
 WHERE q.execution_id = x.execution_id AND q.lease_owner = $1 AND q.fence = x.fence
RETURNING q.execution_id::text;

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

-- name: queue_refresh_step_stats
-- p95 duration per plan action of the step runs finished in the last day (at least
-- $1 samples), for stagee_lease_ms. Run by the reaper; concurrent refreshes by
-- several nodes write the same figures.
INSERT INTO step_duration_stats AS d (action, p95_ms, samples, refreshed_at)
SELECT e.action,
       percentile_disc(0.95) WITHIN GROUP (
         ORDER BY (extract(epoch FROM s.ended_at - s.started_at) * 1000)::bigint),
       count(*), now()
  FROM execution_steps s
  JOIN executions e ON e.id = s.execution_id
 WHERE s.ended_at > now() - interval '1 day' AND s.started_at IS NOT NULL
   AND s.status IN ('succeeded', 'failed', 'timed_out')
 GROUP BY e.action
HAVING count(*) >= $1
ON CONFLICT (action) DO UPDATE
   SET p95_ms = excluded.p95_ms, samples = excluded.samples, refreshed_at = excluded.refreshed_at
RETURNING d.action, d.p95_ms, d.samples;
