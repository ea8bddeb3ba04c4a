ALTER TABLE execution_queue DROP COLUMN lease_renewals;
DROP FUNCTION stagee_lease_ms(uuid, bigint, bigint);
DROP INDEX ix_steps_ended_at;
DROP TABLE step_duration_stats;
