-- Secret store (R-SAFE-4): sealed values only; never a plaintext.

-- name: secret_put
INSERT INTO secrets (tenant_id, name, sealed, key_id, updated_by)
VALUES ($1, $2, decode($3, 'hex'), $4, $5)
ON CONFLICT (tenant_id, name) DO UPDATE
   SET sealed = excluded.sealed, key_id = excluded.key_id,
       updated_by = excluded.updated_by, updated_at = now();

-- name: secret_get
-- $2: JSON array of names.
SELECT name, sealed, key_id
  FROM secrets
 WHERE tenant_id = $1 AND name = ANY (ARRAY(SELECT jsonb_array_elements_text($2::jsonb)));

-- name: secret_list
SELECT name, key_id, updated_by,
       to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
  FROM secrets
 WHERE tenant_id = $1
 ORDER BY name;

-- name: secret_delete
DELETE FROM secrets WHERE tenant_id = $1 AND name = $2 RETURNING name;
