-- Issue 3: retries, the dead-letter queue and queue hygiene. (0001 is as first
-- released; every later change to the schema is a new migration.)

-- environment takes the same identifiers as tenants and principals (1..128).
ALTER TABLE executions ALTER COLUMN environment TYPE VARCHAR(128);

-- Every execution inserts, updates and deletes its queue row: vacuum it eagerly so
-- claims do not wade through dead tuples.
ALTER TABLE execution_queue SET (autovacuum_vacuum_scale_factor = 0.0,
                                 autovacuum_vacuum_threshold = 1000,
                                 autovacuum_analyze_scale_factor = 0.0,
                                 autovacuum_analyze_threshold = 1000);

-- step_finished event payloads, in order (the attempt history of a dead letter).
ALTER TABLE execution_dlq ADD COLUMN history JSONB NOT NULL DEFAULT '[]';

-- The execution a requeue created from this entry.
ALTER TABLE execution_dlq ADD COLUMN requeued_as uuid REFERENCES executions (id);
