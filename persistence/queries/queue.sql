-- The shared execution queue: claims, leases, renewals, the reaper (R-Q-1..5).

-- name: queue_claim
-- One statement: pick free rows by priority then age, skipping rows other workers
-- are claiming (FOR UPDATE SKIP LOCKED); the partial index ix_queue_claim matches.
-- Rows whose lease expired become free through queue_reap. stagee_take_leases
-- (migration 0004) leases them, each for stagee_lease_ms (migration 0003): $3 > 0
-- fixes it, $4 is the buffer added to the longest step timeout. Returns what a worker
-- needs to run them, with the new fencing token, the lease length and the time spent
-- queued.
WITH next AS (
  SELECT execution_id
    FROM execution_queue
   WHERE lease_owner IS NULL AND visible_at <= now()
   ORDER BY priority, enqueued_at
   LIMIT $2
     FOR UPDATE SKIP LOCKED
), claimed AS (
  SELECT * FROM stagee_take_leases(ARRAY(SELECT execution_id FROM next), $1, $3, $4, true)
)
SELECT r.*, claimed.fence, claimed.queue_wait_ms, claimed.lease_ms
  FROM claimed
  JOIN execution_runnable r ON r.id = claimed.execution_id;

-- name: queue_renew
-- Renews only leases still held with the same fencing token and not yet expired
-- by the database clock (an expired lease is dead even before the reaper frees it:
-- its locks may already belong to someone else), each for its own length; the ids
-- returned are the renewed ones, every other requested lease is lost. Counts
-- renewals on the queue row only (one table: no lock order to get wrong against
-- the journal, which copies the count into
-- executions.lease_renewals).
UPDATE execution_queue q
   SET lease_expires_at = now() + make_interval(secs => x.lease_ms / 1000.0),
       lease_renewals = q.lease_renewals + 1
  FROM jsonb_to_recordset($2::jsonb) AS x(execution_id uuid, fence bigint, lease_ms bigint)
 WHERE q.execution_id = x.execution_id AND q.lease_owner = $1 AND q.fence = x.fence
   AND q.lease_expires_at >= now()
RETURNING q.execution_id::text;

-- name: queue_rows_gone
-- Of the leases a renewal asked for, those whose queue row is gone: the execution
-- ended (its terminal journal write deletes the row) while the renewal was on its
-- way. Not lost to another owner: the supervisor waits for its end as usual.
SELECT x.execution_id::text
  FROM jsonb_to_recordset($1::jsonb) AS x(execution_id uuid)
 WHERE NOT EXISTS (SELECT 1 FROM execution_queue q WHERE q.execution_id = x.execution_id);

-- name: queue_renew_locks
-- The locks of a renewed execution share its lease (same expiry, same statement
-- order as the journal: queue rows first, then locks, locked in key order by
-- locks_lock_owned).
UPDATE execution_locks l
   SET lease_expires_at = q.lease_expires_at
  FROM execution_queue q
 WHERE q.execution_id = l.owner_execution_id AND l.owner_node = $1 AND q.lease_owner = $1
   AND q.execution_id = ANY (ARRAY(SELECT jsonb_array_elements_text($2::jsonb)::uuid));

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

-- name: cancel_poll_owned
-- Requested cancellations of executions this node ($1) holds the lease of. The open
-- requests come from the tiny partial index ix_exec_cancel_open first (materialized:
-- never a scan of the whole queue), then their queue rows by primary key.
WITH open AS MATERIALIZED (
  SELECT id, cancel_requested_by, cancel_reason
    FROM executions
   WHERE cancel_requested_at IS NOT NULL AND ended_at IS NULL
)
SELECT open.id::text, open.cancel_requested_by, coalesce(open.cancel_reason, '')
  FROM open
  JOIN execution_queue q ON q.execution_id = open.id
 WHERE q.lease_owner = $1;

-- name: cancel_claim_free
-- Claims, to cancel them, executions with a cancellation request that nobody holds
-- (queued, deferred while waiting for a lock, or freed by the reaper after their
-- owner died or froze), whatever their visible_at; not counted as attempts.
WITH open AS MATERIALIZED (
  SELECT id FROM executions WHERE cancel_requested_at IS NOT NULL AND ended_at IS NULL
), next AS (
  SELECT q.execution_id
    FROM open
    JOIN execution_queue q ON q.execution_id = open.id
   WHERE q.lease_owner IS NULL
   LIMIT 100
     FOR UPDATE OF q SKIP LOCKED
), claimed AS (
  SELECT * FROM stagee_take_leases(ARRAY(SELECT execution_id FROM next), $1, $2, $3, false)
)
SELECT r.*, claimed.fence, claimed.queue_wait_ms, claimed.lease_ms
  FROM claimed
  JOIN execution_runnable r ON r.id = claimed.execution_id;
