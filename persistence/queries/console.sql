-- Reads for `stagee console` (R-IF-4): listings of one tenant, node-wide counts.
-- Every listing fetches one row more than the page ($n = limit + 1): the store
-- drops it and reports `more`.

-- name: console_executions
-- $1 tenant; $2 status: '' any, 'active' not terminal, else one execution_status
-- label (the store checks it); $3 node: '' any, else the node that last journaled
-- for it or holds its queue lease; $4 limit + 1. Newest first. The page is cut
-- before its steps are looked at (ux_steps_exec_run, a few rows per execution);
-- in a custom plan the CASE folds to a plain status test (ix_exec_tenant_status).
-- The current step: the run that is running, else the last one that ran (neither
-- pending nor skipped: a failure or cancellation skips the runs after it).
SELECT p.id::text AS id, p.tenant_id, p.plan_name, p.status::text AS status,
       p.mode::text AS mode, coalesce(p.worker_id, '') AS worker_id,
       coalesce(s.name, '') AS step, coalesce(s.step_index, -1) AS step_index,
       coalesce(s.target, '') AS target, p.fence, p.lease_owner,
       coalesce(to_char(p.lease_expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), '')
         AS lease_expires_at,
       to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at,
       to_char(p.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS updated_at
  FROM (SELECT e.id, e.tenant_id, e.plan_name, e.status, e.mode, e.worker_id, e.created_at,
               e.updated_at, coalesce(q.fence, 0) AS fence,
               coalesce(q.lease_owner, '') AS lease_owner, q.lease_expires_at
          FROM executions e
          LEFT JOIN execution_queue q ON q.execution_id = e.id
         WHERE e.tenant_id = $1
           AND CASE $2 WHEN '' THEN true
                       WHEN 'active' THEN e.status IN ('pending', 'awaiting_approval', 'queued',
                                                       'running')
                       ELSE e.status = $2::execution_status END
           AND ($3 = '' OR e.worker_id = $3 OR q.lease_owner = $3)
         ORDER BY e.created_at DESC, e.id DESC
         LIMIT $4) p
  LEFT JOIN LATERAL (SELECT st.name, st.step_index, st.target
                       FROM execution_steps st
                      WHERE st.execution_id = p.id AND st.status NOT IN ('pending', 'skipped')
                      ORDER BY st.status = 'running' DESC, st.run_index DESC
                      LIMIT 1) s ON true
 ORDER BY p.created_at DESC, p.id DESC;

-- name: console_queue
-- $1 tenant; $2 priority (-1: any); $3 limit + 1. Claim order (queue_claim's).
SELECT q.execution_id::text AS execution_id, q.priority, e.status::text AS status,
       to_char(q.enqueued_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS enqueued_at,
       to_char(q.visible_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS visible_at,
       coalesce(q.lease_owner, '') AS lease_owner,
       coalesce(to_char(q.lease_expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), '')
         AS lease_expires_at,
       q.fence, q.attempts, coalesce(q.blocked_by, '') AS blocked_by
  FROM execution_queue q
  JOIN executions e ON e.id = q.execution_id
 WHERE q.tenant_id = $1 AND ($2 = -1 OR q.priority = $2)
 ORDER BY q.priority, q.enqueued_at, q.execution_id
 LIMIT $3;

-- name: console_journal
-- $1 tenant; $2 execution id; $3 limit + 1. The newest first (the store returns the
-- page oldest first; the extra row says earlier ones exist), events_after's columns.
-- Admission journals every execution's first events: no row means no execution of
-- this tenant.
SELECT ev.execution_id, ev.seq, ev.kind, ev.payload
  FROM execution_events ev
  JOIN executions e ON e.id = ev.execution_id
 WHERE ev.execution_id = $2::uuid AND e.tenant_id = $1
 ORDER BY ev.seq DESC
 LIMIT $3;

-- name: console_node_counts
-- Every tenant: queue rows nobody holds (ix_queue_claim), locks held for $1's
-- executions (ix_locks_owner_node).
SELECT (SELECT count(*) FROM execution_queue WHERE lease_owner IS NULL) AS queue_depth,
       (SELECT count(*) FROM execution_locks
         WHERE owner_node = $1 AND owner_execution_id IS NOT NULL) AS locks_held;
