-- Landlord schema v4, provisioning at scale: the prepared databases (clone sources)
-- this landlord built, so a sweep never touches another installation's on a shared
-- server; and covering indexes for counting live tenants.
CREATE TABLE prepared_databases (
  server_id {bigint} NOT NULL,
  database_name VARCHAR(64) NOT NULL,
  template_id {bigint} NOT NULL,
  template_version VARCHAR(50) NOT NULL,
  modules VARCHAR(500) NOT NULL,
  created_at {ts} NOT NULL,
  PRIMARY KEY (server_id, database_name),
  CONSTRAINT fk_prepared_server FOREIGN KEY (server_id) REFERENCES database_servers (id)
);

-- Counting a server's or a version's live tenants (placement, capacity, version
-- locks) reads these indexes alone instead of every tenant row.
CREATE INDEX idx_tenants_server_live ON tenants (server_id, status, deleted_at);
CREATE INDEX idx_tenants_version_live ON tenants (template_id, template_version, status, deleted_at);
