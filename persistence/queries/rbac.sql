-- RBAC (R-SAFE-3): checks, bindings, roles, and the audit trail of refusals.

-- name: rbac_allowed
-- $4 = '' : in any environment (listings). $5: the token's roles (JSON array) or 'null'.
SELECT stagee_rbac_allowed($1, $2, $3, nullif($4, ''), nullif($5::jsonb, 'null'::jsonb));

-- name: rbac_execution_scope
-- An execution of the caller's tenant (no row: missing or another tenant's, alike)
-- and whether the caller holds $4 in its environment.
SELECT e.environment, e.actor_id, e.status::text,
       stagee_rbac_allowed(e.tenant_id, $3, $4, e.environment,
                           nullif($5::jsonb, 'null'::jsonb)) AS allowed
  FROM executions e
 WHERE e.id = $1::uuid AND e.tenant_id = $2;

-- name: rbac_grant
-- Idempotent: granting twice keeps the first grant (and its granted_by/at).
INSERT INTO rbac_bindings (tenant_id, principal, role, environment, granted_by)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (tenant_id, principal, role, environment) DO NOTHING;

-- name: rbac_revoke
DELETE FROM rbac_bindings
 WHERE tenant_id = $1 AND principal = $2 AND role = $3 AND environment = $4;

-- name: rbac_list_bindings
-- $1/$2 = '' : any tenant / principal.
SELECT b.tenant_id, b.principal, b.role, b.environment, b.granted_by,
       to_char(b.granted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       array_to_string(r.permissions, ',')
  FROM rbac_bindings b JOIN rbac_roles r ON r.name = b.role
 WHERE ($1 = '' OR b.tenant_id = $1) AND ($2 = '' OR b.principal = $2)
 ORDER BY b.tenant_id, b.principal, b.role, b.environment
 LIMIT 10000;

-- name: rbac_list_roles
SELECT name, array_to_string(permissions, ','), description, builtin
  FROM rbac_roles
 ORDER BY name;

-- name: rbac_role_exists
SELECT builtin FROM rbac_roles WHERE name = $1;

-- name: rbac_put_role
-- Creates or replaces a custom role; built-in roles are never changed.
-- $2: permissions as a comma-separated list (validated by the caller and the CHECK).
INSERT INTO rbac_roles (name, permissions, description)
VALUES ($1, string_to_array($2, ','), $3)
ON CONFLICT (name) DO UPDATE
   SET permissions = excluded.permissions, description = excluded.description,
       updated_at = now()
 WHERE NOT rbac_roles.builtin
RETURNING name;

-- name: rbac_delete_role
DELETE FROM rbac_roles WHERE name = $1 AND NOT builtin RETURNING name;

-- name: security_event_insert
INSERT INTO security_events (kind, tenant_id, principal, operation, permission,
                             environment, execution_id, auth_method, node, source, reason)
VALUES ($1, $2, $3, $4, $5, nullif($6, ''), nullif($7, '')::uuid, $8, $9, nullif($10, ''), $11);
