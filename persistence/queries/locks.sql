-- Per-asset locks (R-SAFE-2): execution_locks rows, one per key, keeping their
-- fencing token while free. Lists of keys or ids come as JSON arrays and are matched
-- with `= ANY (ARRAY(SELECT ...))`: an IN (SELECT jsonb_array_elements...) is
-- planned as a hash join over a scan of the whole table. PostgreSQL is the arbiter; every expiry decision uses
-- the database clock (now()). Statement order inside a transaction is always queue
-- row first, lock rows second (as in the journal and the renewal): no deadlock.

-- name: locks_queue_lease
-- The caller must hold the execution's queue lease (node $2, fence $3), unexpired
-- by the database clock; locks the queue row.
SELECT lease_expires_at, blocked_by IS NOT NULL AS was_blocked
  FROM execution_queue
 WHERE execution_id = $1::uuid AND lease_owner = $2 AND fence = $3
   AND lease_expires_at >= now()
   FOR UPDATE;

-- name: locks_insert_keys
-- A key's row is created on first use and kept (it carries the fence).
INSERT INTO execution_locks (lock_key, tenant_id, target_ref, action)
SELECT x.lock_key, x.tenant_id, x.target_ref, x.action
  FROM jsonb_to_recordset($1::jsonb) AS x(lock_key text, tenant_id text, target_ref text,
                                          action text)
 ORDER BY x.lock_key
ON CONFLICT (lock_key) DO NOTHING;

-- name: locks_lock_rows
-- Row-locks the keys in key order (every acquirer uses the same order) and says
-- which are held by another execution whose lease has not expired.
SELECT l.lock_key,
       coalesce(l.owner_execution_id::text, '') AS holder,
       coalesce(l.owner_node, '') AS holder_node,
       coalesce(to_char(l.lease_expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), '')
         AS expires_at,
       coalesce((extract(epoch FROM l.lease_expires_at - now()) * 1000)::bigint, 0) AS expires_in_ms,
       (l.owner_execution_id IS NOT NULL AND l.owner_execution_id <> $2::uuid
        AND l.lease_expires_at >= now()) AS busy
  FROM execution_locks l
 WHERE l.lock_key = ANY (ARRAY(SELECT jsonb_array_elements_text($1::jsonb)))
 ORDER BY l.lock_key
   FOR UPDATE;

-- name: locks_grant
-- Grants the keys to execution $1 on node $2: fence + 1 per key; the lock's lease
-- is the execution's queue lease.
UPDATE execution_locks l
   SET owner_execution_id = $1::uuid, owner_node = $2, fence = l.fence + 1,
       acquired_at = now(),
       lease_expires_at = (SELECT q.lease_expires_at FROM execution_queue q
                            WHERE q.execution_id = $1::uuid)
 WHERE l.lock_key = ANY (ARRAY(SELECT jsonb_array_elements_text($3::jsonb)))
RETURNING l.lock_key, l.fence;

-- name: locks_clear_blocked
UPDATE execution_queue SET blocked_by = NULL WHERE execution_id = $1::uuid;

-- name: locks_release_execution
-- An execution that must wait lets go of every lock it still holds (never wait
-- while holding: no deadlock between executions). Its keys are those just locked
-- in key order by locks_lock_rows (a plan's keys do not change).
UPDATE execution_locks
   SET owner_execution_id = NULL, owner_node = NULL, acquired_at = NULL, lease_expires_at = NULL
 WHERE owner_execution_id = $1::uuid;

-- name: locks_defer_queue
-- A background execution whose targets are locked goes back to the queue, visible
-- again after base ($4) x 2^waits, capped at $5, +-10 %; its claim does not count
-- as an attempt. Returns the delay in milliseconds.
UPDATE execution_queue q
   SET lease_owner = NULL, lease_expires_at = NULL,
       visible_at = now() + make_interval(secs =>
         least($5::double precision, $4::double precision * 2 ^ least(q.lock_waits, 16))
         * (0.9 + random() * 0.2) / 1000.0),
       attempts = greatest(q.attempts - 1, 0),
       lock_waits = q.lock_waits + 1,
       blocked_by = $6
 WHERE q.execution_id = $1::uuid AND q.lease_owner = $2 AND q.fence = $3
RETURNING (extract(epoch FROM q.visible_at - now()) * 1000)::bigint;

-- name: locks_reap
-- Frees held locks whose lease expired by the database clock (their holder died,
-- froze or lost its database); the next grant bumps the fence.
UPDATE execution_locks l
   SET owner_execution_id = NULL, owner_node = NULL, acquired_at = NULL, lease_expires_at = NULL
  FROM (SELECT lock_key, owner_execution_id, owner_node FROM execution_locks
         WHERE owner_execution_id IS NOT NULL AND lease_expires_at < now()
           FOR UPDATE SKIP LOCKED) expired
 WHERE l.lock_key = expired.lock_key
RETURNING l.lock_key, expired.owner_execution_id::text, expired.owner_node;

-- name: locks_list
SELECT lock_key, tenant_id, target_ref, action, owner_execution_id::text, owner_node, fence,
       to_char(acquired_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS acquired_at,
       to_char(lease_expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS expires_at,
       (extract(epoch FROM lease_expires_at - now()) * 1000)::bigint AS expires_in_ms
  FROM execution_locks
 WHERE owner_execution_id IS NOT NULL AND ($1 = '' OR tenant_id = $1) AND ($2 = '' OR target_ref = $2)
 ORDER BY lock_key
 LIMIT 1000;

-- name: locks_lock_owned
-- Row-locks, in key order, the locks held by the executions in $1 (a JSON array of
-- ids): every statement that then updates several lock rows (release, renewal)
-- must not take them in another order than an acquirer does.
SELECT lock_key
  FROM execution_locks
 WHERE owner_execution_id = ANY (ARRAY(SELECT jsonb_array_elements_text($1::jsonb)::uuid))
 ORDER BY lock_key
   FOR UPDATE;

-- name: journal_release_locks
-- A terminal execution's locks are released in the transaction of its final status
-- (the journal write is fenced: only the execution's current owner gets here).
UPDATE execution_locks
   SET owner_execution_id = NULL, owner_node = NULL, acquired_at = NULL, lease_expires_at = NULL
 WHERE owner_execution_id = ANY (ARRAY(SELECT jsonb_array_elements_text($1::jsonb)::uuid));
