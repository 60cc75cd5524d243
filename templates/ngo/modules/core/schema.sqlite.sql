CREATE TABLE membership_types (
  id INTEGER PRIMARY KEY,
  name VARCHAR(80) NOT NULL,
  annual_fee DECIMAL(10,2) NOT NULL DEFAULT 0.00,
  CONSTRAINT uq_membership_types_name UNIQUE (name)
);
CREATE TABLE members (
  id INTEGER PRIMARY KEY,
  membership_type_id BIGINT NOT NULL,
  full_name VARCHAR(200) NOT NULL,
  email VARCHAR(190) NOT NULL,
  status VARCHAR(20) NOT NULL DEFAULT 'active',
  joined_on DATE NULL,
  profile TEXT NULL,
  preferred_language VARCHAR(10) NULL,
  CONSTRAINT uq_members_email UNIQUE (email),
  CONSTRAINT fk_members_type FOREIGN KEY (membership_type_id) REFERENCES membership_types (id)
);
CREATE INDEX idx_members_type ON members (membership_type_id);
CREATE TABLE dues_payments (
  id INTEGER PRIMARY KEY,
  member_id BIGINT NOT NULL,
  period_year INTEGER NOT NULL,
  amount DECIMAL(10,2) NOT NULL,
  paid_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT uq_dues_member_year UNIQUE (member_id, period_year),
  CONSTRAINT fk_dues_member FOREIGN KEY (member_id) REFERENCES members (id) ON DELETE CASCADE,
  CONSTRAINT ck_dues_amount CHECK (amount >= 0)
);
