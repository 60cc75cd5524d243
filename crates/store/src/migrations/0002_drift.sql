-- Landlord schema v2: drift reports and the cache of expected schemas.

-- The latest drift scan of each tenant: its level and every difference found.
CREATE TABLE tenant_drift (
  tenant_id VARCHAR(36) NOT NULL PRIMARY KEY,
  drift_level VARCHAR(8) NOT NULL,
  differences {json} NOT NULL,
  expected_key VARCHAR(64) NOT NULL,
  scanned_at {ts} NOT NULL,
  CONSTRAINT fk_tenant_drift_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

-- Expected schemas built from a template snapshot plus customizations, by the
-- checksum of what they were built from (immutable, so never stale).
CREATE TABLE expected_schemas (
  cache_key VARCHAR(64) NOT NULL PRIMARY KEY,
  dialect VARCHAR(16) NOT NULL,
  schema_json {text} NOT NULL,
  created_at {ts} NOT NULL
);
