DROP INDEX IF EXISTS ix_queue_tenant_claim;
DROP INDEX IF EXISTS ix_exec_tenant_created;
