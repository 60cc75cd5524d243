CREATE TABLE funders (
  id INTEGER PRIMARY KEY,
  name VARCHAR(200) NOT NULL,
  country CHAR(2) NULL,
  CONSTRAINT uq_funders_name UNIQUE (name)
);
CREATE TABLE grants (
  id INTEGER PRIMARY KEY,
  funder_id BIGINT NOT NULL,
  project_id BIGINT NOT NULL,
  amount DECIMAL(12,2) NOT NULL,
  awarded_on DATE NOT NULL,
  CONSTRAINT fk_grants_funder FOREIGN KEY (funder_id) REFERENCES funders (id),
  CONSTRAINT fk_grants_project FOREIGN KEY (project_id) REFERENCES projects (id)
);
CREATE INDEX idx_grants_project ON grants (project_id);
CREATE INDEX idx_grants_funder ON grants (funder_id);
