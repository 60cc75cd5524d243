CREATE TABLE projects (
  id INTEGER PRIMARY KEY,
  name VARCHAR(150) NOT NULL,
  status VARCHAR(20) NOT NULL DEFAULT 'planned',
  starts_on DATE NULL,
  budget DECIMAL(12,2) NULL,
  CONSTRAINT uq_projects_name UNIQUE (name)
);
CREATE TABLE project_members (
  project_id BIGINT NOT NULL,
  member_id BIGINT NOT NULL,
  role VARCHAR(40) NOT NULL DEFAULT 'volunteer',
  PRIMARY KEY (project_id, member_id),
  CONSTRAINT fk_project_members_project FOREIGN KEY (project_id) REFERENCES projects (id) ON DELETE CASCADE,
  CONSTRAINT fk_project_members_member FOREIGN KEY (member_id) REFERENCES members (id) ON DELETE CASCADE
);
CREATE INDEX idx_project_members_member ON project_members (member_id);
