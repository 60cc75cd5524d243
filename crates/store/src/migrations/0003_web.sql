-- Landlord schema v3: web sessions (the HTTP interface's sign-ins).

-- A signed-in browser. The cookie carries a random token; only its SHA-256 is kept.
CREATE TABLE web_sessions (
  token_hash VARCHAR(64) NOT NULL PRIMARY KEY,
  account_id {bigint} NOT NULL,
  csrf_token VARCHAR(64) NOT NULL,
  source VARCHAR(255) NULL,
  created_at {ts} NOT NULL,
  expires_at {ts} NOT NULL,
  CONSTRAINT fk_web_sessions_account FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE
);
CREATE INDEX idx_audit_log_target ON audit_log (target);
