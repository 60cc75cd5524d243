CREATE TABLE branches (
  id INTEGER PRIMARY KEY,
  parent_id BIGINT NULL,
  code VARCHAR(20) NOT NULL,
  name VARCHAR(150) NOT NULL,
  level VARCHAR(20) NOT NULL DEFAULT 'local',
  region VARCHAR(100) NULL,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT uq_branches_code UNIQUE (code),
  CONSTRAINT fk_branches_parent FOREIGN KEY (parent_id) REFERENCES branches (id) ON DELETE SET NULL,
  CONSTRAINT ck_branches_level CHECK (level IN ('national', 'regional', 'local'))
);
CREATE INDEX idx_branches_parent ON branches (parent_id);

CREATE TABLE members (
  id INTEGER PRIMARY KEY,
  branch_id BIGINT NOT NULL,
  membership_number VARCHAR(30) NOT NULL,
  first_name VARCHAR(100) NOT NULL,
  last_name VARCHAR(100) NOT NULL,
  email VARCHAR(190) NOT NULL,
  phone VARCHAR(40) NULL,
  birth_date DATE NULL,
  status VARCHAR(20) NOT NULL DEFAULT 'pending',
  joined_on DATE NULL,
  dues_paid_until DATE NULL,
  consent_marketing BOOLEAN NOT NULL DEFAULT FALSE,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP NULL,
  notes TEXT NULL,
  CONSTRAINT uq_members_number UNIQUE (membership_number),
  CONSTRAINT uq_members_email UNIQUE (email),
  CONSTRAINT fk_members_branch FOREIGN KEY (branch_id) REFERENCES branches (id),
  CONSTRAINT ck_members_status CHECK (status IN ('pending', 'active', 'lapsed', 'suspended', 'expelled'))
);
CREATE INDEX idx_members_branch_status ON members (branch_id, status);
CREATE INDEX idx_members_name ON members (last_name, first_name);

CREATE TABLE roles (
  id INTEGER PRIMARY KEY,
  name VARCHAR(60) NOT NULL,
  description VARCHAR(255) NULL,
  CONSTRAINT uq_roles_name UNIQUE (name)
);

CREATE TABLE permissions (
  id INTEGER PRIMARY KEY,
  code VARCHAR(80) NOT NULL,
  description VARCHAR(255) NULL,
  CONSTRAINT uq_permissions_code UNIQUE (code)
);

CREATE TABLE role_permissions (
  role_id BIGINT NOT NULL,
  permission_id BIGINT NOT NULL,
  PRIMARY KEY (role_id, permission_id),
  CONSTRAINT fk_role_permissions_role FOREIGN KEY (role_id) REFERENCES roles (id) ON DELETE CASCADE,
  CONSTRAINT fk_role_permissions_permission FOREIGN KEY (permission_id) REFERENCES permissions (id) ON DELETE CASCADE
);
CREATE INDEX idx_role_permissions_permission ON role_permissions (permission_id);

CREATE TABLE member_roles (
  member_id BIGINT NOT NULL,
  role_id BIGINT NOT NULL,
  branch_id BIGINT NOT NULL,
  granted_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (member_id, role_id, branch_id),
  CONSTRAINT fk_member_roles_member FOREIGN KEY (member_id) REFERENCES members (id) ON DELETE CASCADE,
  CONSTRAINT fk_member_roles_role FOREIGN KEY (role_id) REFERENCES roles (id),
  CONSTRAINT fk_member_roles_branch FOREIGN KEY (branch_id) REFERENCES branches (id)
);
CREATE INDEX idx_member_roles_role ON member_roles (role_id);
CREATE INDEX idx_member_roles_branch ON member_roles (branch_id);

CREATE TABLE committees (
  id INTEGER PRIMARY KEY,
  branch_id BIGINT NOT NULL,
  name VARCHAR(150) NOT NULL,
  purpose TEXT NULL,
  active BOOLEAN NOT NULL DEFAULT TRUE,
  CONSTRAINT uq_committees_branch_name UNIQUE (branch_id, name),
  CONSTRAINT fk_committees_branch FOREIGN KEY (branch_id) REFERENCES branches (id)
);

CREATE TABLE committee_members (
  committee_id BIGINT NOT NULL,
  member_id BIGINT NOT NULL,
  position VARCHAR(40) NOT NULL DEFAULT 'member',
  since DATE NULL,
  PRIMARY KEY (committee_id, member_id),
  CONSTRAINT fk_committee_members_committee FOREIGN KEY (committee_id) REFERENCES committees (id) ON DELETE CASCADE,
  CONSTRAINT fk_committee_members_member FOREIGN KEY (member_id) REFERENCES members (id) ON DELETE CASCADE
);
CREATE INDEX idx_committee_members_member ON committee_members (member_id);

CREATE VIEW active_members AS
  SELECT m.id, m.membership_number, m.first_name, m.last_name, m.email, b.name AS branch
  FROM members m JOIN branches b ON b.id = m.branch_id
  WHERE m.status = 'active';
