CREATE TABLE people (
  id INTEGER PRIMARY KEY,
  email VARCHAR(190) NOT NULL,
  display_name VARCHAR(150) NOT NULL,
  active BOOLEAN NOT NULL DEFAULT TRUE,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  phone VARCHAR(40) NULL,
  CONSTRAINT uq_people_email UNIQUE (email)
);
CREATE TABLE groups_ (
  id INTEGER PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  CONSTRAINT uq_groups_name UNIQUE (name)
);
CREATE TABLE group_members (
  group_id BIGINT NOT NULL,
  person_id BIGINT NOT NULL,
  PRIMARY KEY (group_id, person_id),
  CONSTRAINT fk_group_members_group FOREIGN KEY (group_id) REFERENCES groups_ (id) ON DELETE CASCADE,
  CONSTRAINT fk_group_members_person FOREIGN KEY (person_id) REFERENCES people (id) ON DELETE CASCADE
);
CREATE INDEX idx_group_members_person ON group_members (person_id);
CREATE TABLE settings (
  setting_key VARCHAR(100) NOT NULL PRIMARY KEY,
  setting_value TEXT NULL
);
