-- Tenant-scoped secret store (R-SAFE-4): values sealed with AES-256-GCM under a key
-- file only nodes and `stagee secret` hold (actors/secret_box.cpp). The database
-- never sees a value: `sealed` is version | nonce | ciphertext | tag, bound to its
-- tenant and name, and key_id says which key sealed it.
CREATE TABLE secrets (
  tenant_id   VARCHAR(128) NOT NULL,
  name        VARCHAR(128) NOT NULL,
  sealed      BYTEA NOT NULL,
  key_id      VARCHAR(16) NOT NULL,
  updated_by  VARCHAR(200) NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, name),
  CONSTRAINT valid_secret_name CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'),
  CONSTRAINT valid_sealed_size CHECK (octet_length(sealed) BETWEEN 29 AND 65600)
);
