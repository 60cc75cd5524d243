CREATE TABLE events (
  id INTEGER PRIMARY KEY,
  branch_id BIGINT NOT NULL,
  title VARCHAR(200) NOT NULL,
  location VARCHAR(200) NULL,
  starts_at TIMESTAMP NOT NULL,
  ends_at TIMESTAMP NULL,
  capacity INTEGER NULL,
  CONSTRAINT fk_events_branch FOREIGN KEY (branch_id) REFERENCES branches (id)
);
CREATE INDEX idx_events_branch_starts ON events (branch_id, starts_at);

CREATE TABLE event_registrations (
  event_id BIGINT NOT NULL,
  member_id BIGINT NOT NULL,
  registered_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  attended BOOLEAN NOT NULL DEFAULT FALSE,
  PRIMARY KEY (event_id, member_id),
  CONSTRAINT fk_event_registrations_event FOREIGN KEY (event_id) REFERENCES events (id) ON DELETE CASCADE,
  CONSTRAINT fk_event_registrations_member FOREIGN KEY (member_id) REFERENCES members (id) ON DELETE CASCADE
);
CREATE INDEX idx_event_registrations_member ON event_registrations (member_id);

CREATE TABLE volunteers (
  id INTEGER PRIMARY KEY,
  member_id BIGINT NOT NULL,
  skills VARCHAR(255) NULL,
  available BOOLEAN NOT NULL DEFAULT TRUE,
  CONSTRAINT uq_volunteers_member UNIQUE (member_id),
  CONSTRAINT fk_volunteers_member FOREIGN KEY (member_id) REFERENCES members (id) ON DELETE CASCADE
);

CREATE TABLE volunteer_shifts (
  id INTEGER PRIMARY KEY,
  event_id BIGINT NOT NULL,
  volunteer_id BIGINT NOT NULL,
  task VARCHAR(120) NOT NULL,
  starts_at TIMESTAMP NOT NULL,
  CONSTRAINT fk_volunteer_shifts_event FOREIGN KEY (event_id) REFERENCES events (id) ON DELETE CASCADE,
  CONSTRAINT fk_volunteer_shifts_volunteer FOREIGN KEY (volunteer_id) REFERENCES volunteers (id) ON DELETE CASCADE
);
CREATE INDEX idx_volunteer_shifts_event ON volunteer_shifts (event_id, starts_at);
CREATE INDEX idx_volunteer_shifts_volunteer ON volunteer_shifts (volunteer_id);
