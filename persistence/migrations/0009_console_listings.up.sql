-- The console's listings (persistence/queries/console.sql), R-IF-4: a tenant's
-- executions newest first, and a tenant's queue rows in claim order, without
-- sorting all of the tenant's rows for one page.
CREATE INDEX ix_exec_tenant_created ON executions (tenant_id, created_at DESC, id DESC);
CREATE INDEX ix_queue_tenant_claim ON execution_queue (tenant_id, priority, enqueued_at);
