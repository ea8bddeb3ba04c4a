DROP INDEX IF EXISTS ix_locks_owner_node;
DROP INDEX IF EXISTS ix_queue_lease_owner;
DROP TABLE IF EXISTS cluster_members;
