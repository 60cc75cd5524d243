-- Landlord schema v1. Portable SQL with tokens that store/src/dialect.rs replaces:
-- {id} auto-increment primary key, {text} large text, {ts} timestamp (ISO-8601 UTC text,
-- sortable, identical on all engines), {json} JSON document as text, {bigint} 64-bit int.
-- The seed's tables keep their names and their columns' meaning.

CREATE TABLE database_servers (
  {id},
  name VARCHAR(63) NOT NULL,
  dialect VARCHAR(16) NOT NULL,
  url_redacted VARCHAR(500) NOT NULL,
  url_secret {text} NOT NULL,
  capacity {bigint} NOT NULL DEFAULT 1000,
  max_concurrency {bigint} NOT NULL DEFAULT 8,
  status VARCHAR(16) NOT NULL DEFAULT 'active',
  created_at {ts} NOT NULL,
  updated_at {ts} NOT NULL,
  CONSTRAINT uq_database_servers_name UNIQUE (name)
);

CREATE TABLE tenant_templates (
  {id},
  uuid VARCHAR(36) NOT NULL,
  name VARCHAR(100) NOT NULL,
  description {text} NULL,
  template_type VARCHAR(32) NOT NULL DEFAULT 'basic',
  version VARCHAR(50) NULL,
  schema_snapshot {json} NULL,
  seed_data {json} NULL,
  is_active {bigint} NOT NULL DEFAULT 1,
  is_locked {bigint} NOT NULL DEFAULT 0,
  metadata {json} NULL,
  created_at {ts} NOT NULL,
  updated_at {ts} NOT NULL,
  deleted_at {ts} NULL,
  CONSTRAINT uq_tenant_templates_uuid UNIQUE (uuid),
  CONSTRAINT uq_tenant_templates_name UNIQUE (name)
);

CREATE TABLE template_versions (
  {id},
  template_id {bigint} NOT NULL,
  version VARCHAR(50) NOT NULL,
  checksum VARCHAR(64) NOT NULL,
  manifest {text} NOT NULL,
  files {json} NULL,
  dialects VARCHAR(100) NOT NULL,
  source_version VARCHAR(50) NULL,
  is_locked {bigint} NOT NULL DEFAULT 0,
  created_at {ts} NOT NULL,
  CONSTRAINT uq_template_versions UNIQUE (template_id, version),
  CONSTRAINT fk_template_versions_template FOREIGN KEY (template_id) REFERENCES tenant_templates (id) ON DELETE CASCADE
);

CREATE TABLE template_modules (
  {id},
  template_id {bigint} NOT NULL,
  template_version_id {bigint} NOT NULL,
  module_name VARCHAR(100) NOT NULL,
  module_type VARCHAR(16) NOT NULL,
  description {text} NULL,
  schema_sql {text} NOT NULL,
  seed_sql {text} NULL,
  dialect_sql {json} NULL,
  dependencies {json} NULL,
  checksum VARCHAR(64) NOT NULL,
  created_at {ts} NOT NULL,
  CONSTRAINT uq_template_modules UNIQUE (template_version_id, module_name),
  CONSTRAINT fk_template_modules_template FOREIGN KEY (template_id) REFERENCES tenant_templates (id) ON DELETE CASCADE,
  CONSTRAINT fk_template_modules_version FOREIGN KEY (template_version_id) REFERENCES template_versions (id) ON DELETE CASCADE
);

CREATE TABLE template_snapshots (
  {id},
  template_version_id {bigint} NOT NULL,
  dialect VARCHAR(16) NOT NULL,
  modules_key VARCHAR(500) NOT NULL,
  schema_json {json} NOT NULL,
  module_tables {json} NULL,
  checksum VARCHAR(64) NOT NULL,
  created_at {ts} NOT NULL,
  CONSTRAINT uq_template_snapshots UNIQUE (template_version_id, dialect, modules_key),
  CONSTRAINT fk_template_snapshots_version FOREIGN KEY (template_version_id) REFERENCES template_versions (id) ON DELETE CASCADE
);

CREATE TABLE template_migrations (
  {id},
  template_id {bigint} NOT NULL,
  template_version_id {bigint} NOT NULL,
  migration_name VARCHAR(255) NOT NULL,
  sql_up {text} NOT NULL,
  sql_down {text} NOT NULL,
  dialect_sql {json} NULL,
  checksum VARCHAR(64) NOT NULL,
  produces_version VARCHAR(50) NOT NULL,
  applies_to VARCHAR(16) NOT NULL DEFAULT 'all',
  module VARCHAR(100) NULL,
  tenants {json} NULL,
  min_template_version VARCHAR(50) NULL,
  max_template_version VARCHAR(50) NULL,
  created_at {ts} NOT NULL,
  CONSTRAINT uq_template_migrations UNIQUE (template_id, migration_name),
  CONSTRAINT fk_template_migrations_template FOREIGN KEY (template_id) REFERENCES tenant_templates (id),
  CONSTRAINT fk_template_migrations_version FOREIGN KEY (template_version_id) REFERENCES template_versions (id)
);

CREATE TABLE tenants (
  id VARCHAR(36) NOT NULL PRIMARY KEY,
  slug VARCHAR(48) NOT NULL,
  name VARCHAR(255) NOT NULL,
  status VARCHAR(16) NOT NULL DEFAULT 'provisioning',
  status_detail {text} NULL,
  template_id {bigint} NULL,
  template_version VARCHAR(50) NULL,
  modules {json} NULL,
  server_id {bigint} NULL,
  database_name VARCHAR(64) NULL,
  initial_schema {json} NULL,
  customization_count {bigint} NOT NULL DEFAULT 0,
  last_schema_sync {ts} NULL,
  schema_drift_level VARCHAR(8) NOT NULL DEFAULT 'none',
  created_at {ts} NOT NULL,
  updated_at {ts} NOT NULL,
  deleted_at {ts} NULL,
  CONSTRAINT uq_tenants_slug UNIQUE (slug),
  CONSTRAINT fk_tenants_template FOREIGN KEY (template_id) REFERENCES tenant_templates (id),
  CONSTRAINT fk_tenants_server FOREIGN KEY (server_id) REFERENCES database_servers (id)
);
CREATE INDEX idx_tenants_status ON tenants (status);
CREATE INDEX idx_tenants_template ON tenants (template_id, template_version);
CREATE INDEX idx_tenants_server ON tenants (server_id);

CREATE TABLE tenant_databases (
  {id},
  tenant_id VARCHAR(36) NOT NULL,
  tenant_slug VARCHAR(48) NOT NULL,
  server_id {bigint} NOT NULL,
  database_name VARCHAR(64) NOT NULL,
  username VARCHAR(64) NULL,
  password_secret {text} NULL,
  status VARCHAR(16) NOT NULL DEFAULT 'active',
  created_at {ts} NOT NULL,
  updated_at {ts} NOT NULL,
  CONSTRAINT uq_tenant_databases_location UNIQUE (server_id, database_name),
  CONSTRAINT fk_tenant_databases_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
  CONSTRAINT fk_tenant_databases_server FOREIGN KEY (server_id) REFERENCES database_servers (id)
);
CREATE INDEX idx_tenant_databases_tenant ON tenant_databases (tenant_id);

CREATE TABLE tenant_users (
  {id},
  tenant_id VARCHAR(36) NOT NULL,
  email VARCHAR(255) NOT NULL,
  name VARCHAR(255) NULL,
  role VARCHAR(32) NOT NULL DEFAULT 'viewer',
  password_hash VARCHAR(255) NULL,
  created_at {ts} NOT NULL,
  updated_at {ts} NOT NULL,
  deleted_at {ts} NULL,
  CONSTRAINT uq_tenant_users_email UNIQUE (tenant_id, email),
  CONSTRAINT fk_tenant_users_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE TABLE tenant_applications (
  {id},
  tenant_id VARCHAR(36) NOT NULL,
  name VARCHAR(255) NOT NULL,
  domain VARCHAR(255) NOT NULL,
  created_at {ts} NOT NULL,
  CONSTRAINT uq_tenant_applications_domain UNIQUE (domain),
  CONSTRAINT fk_tenant_applications_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE INDEX idx_tenant_applications_tenant ON tenant_applications (tenant_id);

CREATE TABLE rollouts (
  {id},
  template_id {bigint} NULL,
  target_version VARCHAR(50) NULL,
  status VARCHAR(16) NOT NULL DEFAULT 'pending',
  concurrency {bigint} NOT NULL DEFAULT 4,
  canary {bigint} NOT NULL DEFAULT 0,
  max_failures {bigint} NOT NULL DEFAULT 0,
  plan {json} NULL,
  created_by VARCHAR(255) NULL,
  created_at {ts} NOT NULL,
  started_at {ts} NULL,
  finished_at {ts} NULL,
  CONSTRAINT fk_rollouts_template FOREIGN KEY (template_id) REFERENCES tenant_templates (id)
);
CREATE INDEX idx_rollouts_status ON rollouts (status);

CREATE TABLE tenant_applied_migrations (
  tenant_id VARCHAR(36) NOT NULL,
  migration_id {bigint} NOT NULL,
  rollout_id {bigint} NULL,
  status VARCHAR(16) NOT NULL DEFAULT 'pending',
  checksum VARCHAR(64) NULL,
  applied_at {ts} NULL,
  notes {text} NULL,
  PRIMARY KEY (tenant_id, migration_id),
  CONSTRAINT fk_tam_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
  CONSTRAINT fk_tam_migration FOREIGN KEY (migration_id) REFERENCES template_migrations (id) ON DELETE CASCADE,
  CONSTRAINT fk_tam_rollout FOREIGN KEY (rollout_id) REFERENCES rollouts (id)
);
CREATE INDEX idx_tam_rollout ON tenant_applied_migrations (rollout_id, status);
CREATE INDEX idx_tam_migration ON tenant_applied_migrations (migration_id);

CREATE TABLE tenant_migrations_history (
  {id},
  tenant_id VARCHAR(36) NOT NULL,
  migration_name VARCHAR(255) NOT NULL,
  migration_type VARCHAR(16) NOT NULL,
  applied_at {ts} NOT NULL,
  applied_by VARCHAR(255) NULL,
  status VARCHAR(16) NOT NULL DEFAULT 'applied',
  checksum VARCHAR(64) NULL,
  execution_time_ms {bigint} NULL,
  rollback_snapshot {json} NULL,
  affected_tables {json} NULL,
  notes {text} NULL,
  CONSTRAINT fk_tmh_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE INDEX idx_tenant_migrations ON tenant_migrations_history (tenant_id, applied_at);

CREATE TABLE tenant_customizations (
  {id},
  tenant_id VARCHAR(36) NOT NULL,
  customization_type VARCHAR(16) NOT NULL,
  object_name VARCHAR(255) NOT NULL,
  definition_sql {text} NOT NULL,
  template_base_version VARCHAR(50) NULL,
  status VARCHAR(16) NOT NULL DEFAULT 'requested',
  reason {text} NULL,
  is_active {bigint} NOT NULL DEFAULT 1,
  checksum VARCHAR(64) NULL,
  created_at {ts} NOT NULL,
  created_by VARCHAR(255) NULL,
  approved_at {ts} NULL,
  approved_by VARCHAR(255) NULL,
  applied_at {ts} NULL,
  applied_by VARCHAR(255) NULL,
  updated_at {ts} NOT NULL,
  deleted_at {ts} NULL,
  CONSTRAINT fk_tenant_customizations_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE INDEX idx_tenant_customizations ON tenant_customizations (tenant_id, customization_type);
CREATE INDEX idx_tenant_customizations_status ON tenant_customizations (status);

CREATE TABLE accounts (
  {id},
  email VARCHAR(255) NOT NULL,
  role VARCHAR(16) NOT NULL,
  tenant_id VARCHAR(36) NULL,
  password_hash VARCHAR(255) NOT NULL,
  disabled {bigint} NOT NULL DEFAULT 0,
  created_at {ts} NOT NULL,
  updated_at {ts} NOT NULL,
  CONSTRAINT uq_accounts_email UNIQUE (email),
  CONSTRAINT fk_accounts_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE TABLE api_tokens (
  {id},
  account_id {bigint} NOT NULL,
  name VARCHAR(255) NOT NULL,
  token_hash VARCHAR(64) NOT NULL,
  scopes VARCHAR(500) NOT NULL,
  expires_at {ts} NULL,
  last_used_at {ts} NULL,
  created_at {ts} NOT NULL,
  CONSTRAINT uq_api_tokens_hash UNIQUE (token_hash),
  CONSTRAINT fk_api_tokens_account FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE
);

CREATE TABLE audit_log (
  {id},
  actor VARCHAR(255) NOT NULL,
  action VARCHAR(100) NOT NULL,
  target VARCHAR(255) NULL,
  detail {json} NULL,
  source VARCHAR(255) NULL,
  created_at {ts} NOT NULL
);
CREATE INDEX idx_audit_log_created ON audit_log (created_at);

-- Warm pool: databases built ahead of signups, claimed by `tenant create`.
CREATE TABLE warm_pool (
  {id},
  server_id {bigint} NOT NULL,
  template_id {bigint} NOT NULL,
  template_version VARCHAR(50) NOT NULL,
  version_checksum VARCHAR(64) NOT NULL,
  modules VARCHAR(500) NOT NULL,
  database_name VARCHAR(64) NOT NULL,
  created_at {ts} NOT NULL,
  CONSTRAINT uq_warm_pool_database UNIQUE (server_id, database_name),
  CONSTRAINT fk_warm_pool_server FOREIGN KEY (server_id) REFERENCES database_servers (id),
  CONSTRAINT fk_warm_pool_template FOREIGN KEY (template_id) REFERENCES tenant_templates (id)
);
CREATE INDEX idx_warm_pool_key ON warm_pool (template_id, server_id, modules);
