-- Landlord schema v4: the prepared databases (clone sources) this landlord built,
-- so that sweeping them never touches another installation's on a shared server.
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
