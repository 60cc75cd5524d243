CREATE TABLE notes (
  id INTEGER PRIMARY KEY,
  person_id BIGINT NOT NULL,
  body TEXT NOT NULL,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  pinned BOOLEAN NULL,
  CONSTRAINT fk_notes_person FOREIGN KEY (person_id) REFERENCES people (id) ON DELETE CASCADE
);
CREATE INDEX idx_notes_person ON notes (person_id, created_at);
