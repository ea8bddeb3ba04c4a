ALTER TABLE execution_dlq DROP COLUMN IF EXISTS requeued_as;
ALTER TABLE execution_dlq DROP COLUMN IF EXISTS history;
ALTER TABLE execution_queue RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold,
                                   autovacuum_analyze_scale_factor, autovacuum_analyze_threshold);
ALTER TABLE executions ALTER COLUMN environment TYPE VARCHAR(100);
