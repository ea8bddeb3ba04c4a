-- Cluster membership rows (R-CL-1), written by each node's member recorder.

-- name: member_upsert
-- The node's heartbeat: its row, stamped with the database clock. A row marked
-- dead or left by someone else comes back to the state the node reports (a frozen
-- node that wakes up rejoins; its leases were already taken over and fenced).
INSERT INTO cluster_members AS m (name, node_id, address, capacity, load, state, tls,
                                  started_at, last_seen)
VALUES ($1, $2, $3, $4, $5, $6, $7, to_timestamp($8 / 1000.0), now())
ON CONFLICT (name) DO UPDATE
   SET node_id = excluded.node_id, address = excluded.address, capacity = excluded.capacity,
       load = excluded.load, state = excluded.state, tls = excluded.tls,
       started_at = excluded.started_at, last_seen = now(),
       dead_at = CASE WHEN excluded.state = 'up' THEN NULL ELSE m.dead_at END,
       dead_by = CASE WHEN excluded.state = 'up' THEN NULL ELSE m.dead_by END;

-- name: member_list
SELECT name, node_id, address, state, capacity, load,
       to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
       (extract(epoch FROM now() - last_seen) * 1000)::bigint, tls
  FROM cluster_members
 ORDER BY name;

-- name: member_holdings
-- Leases and locks held per owner name (partial indexes of migration 0008).
SELECT o.owner, sum(o.leases)::bigint, sum(o.locks)::bigint
  FROM (SELECT lease_owner AS owner, count(*) AS leases, 0 AS locks
          FROM execution_queue WHERE lease_owner IS NOT NULL GROUP BY lease_owner
        UNION ALL
        SELECT owner_node, 0, count(*)
          FROM execution_locks WHERE owner_node IS NOT NULL GROUP BY owner_node) o
 GROUP BY o.owner;

-- name: member_declare_dead
-- $1 is known dead: no CAF link from $3 and no heartbeat of its own for $2 ms by
-- the database clock (a member that left stays 'left': it may have stopped before
-- handing every lease back). Marks the row (the first declarer is kept); no row when $1
-- is not (or no longer) stale. In the same transaction member_free_leases and
-- member_free_locks then free what it held now instead of at lease expiry; the
-- next claim bumps each fence, so if $1 was only frozen its later writes are
-- refused (R-Q-3).
UPDATE cluster_members
   SET state = CASE WHEN state = 'left' THEN 'left' ELSE 'dead' END,
       dead_at = coalesce(dead_at, now()), dead_by = coalesce(dead_by, $3)
 WHERE name = $1
   AND last_seen < now() - make_interval(secs => $2 / 1000.0)
RETURNING name;

-- name: member_free_leases
-- Queue rows first, then locks in key order: the journal's lock order.
UPDATE execution_queue q
   SET lease_owner = NULL, lease_expires_at = NULL, visible_at = now()
  FROM (SELECT execution_id FROM execution_queue WHERE lease_owner = $1
         ORDER BY execution_id FOR UPDATE) held
 WHERE q.execution_id = held.execution_id
RETURNING q.execution_id::text;

-- name: member_free_locks
UPDATE execution_locks l
   SET owner_execution_id = NULL, owner_node = NULL, acquired_at = NULL, lease_expires_at = NULL
  FROM (SELECT lock_key FROM execution_locks WHERE owner_node = $1
         ORDER BY lock_key FOR UPDATE) held
 WHERE l.lock_key = held.lock_key
RETURNING l.lock_key;
