CREATE TABLE elections (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  branch_id BIGINT NOT NULL,
  title VARCHAR(200) NOT NULL,
  opens_at DATETIME NOT NULL,
  closes_at DATETIME NOT NULL,
  status VARCHAR(20) NOT NULL DEFAULT 'draft',
  CONSTRAINT fk_elections_branch FOREIGN KEY (branch_id) REFERENCES branches (id),
  CONSTRAINT ck_elections_window CHECK (closes_at > opens_at)
);
CREATE INDEX idx_elections_branch_opens ON elections (branch_id, opens_at);

CREATE TABLE election_positions (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  election_id BIGINT NOT NULL,
  title VARCHAR(150) NOT NULL,
  seats INTEGER NOT NULL DEFAULT 1,
  CONSTRAINT uq_election_positions UNIQUE (election_id, title),
  CONSTRAINT fk_election_positions_election FOREIGN KEY (election_id) REFERENCES elections (id) ON DELETE CASCADE,
  CONSTRAINT ck_election_positions_seats CHECK (seats > 0)
);

CREATE TABLE candidates (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  position_id BIGINT NOT NULL,
  member_id BIGINT NOT NULL,
  statement TEXT NULL,
  nominated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT uq_candidates_position_member UNIQUE (position_id, member_id),
  CONSTRAINT fk_candidates_position FOREIGN KEY (position_id) REFERENCES election_positions (id) ON DELETE CASCADE,
  CONSTRAINT fk_candidates_member FOREIGN KEY (member_id) REFERENCES members (id)
);
CREATE INDEX idx_candidates_member ON candidates (member_id);

CREATE TABLE ballots (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  election_id BIGINT NOT NULL,
  receipt_code VARCHAR(64) NOT NULL,
  cast_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT uq_ballots_receipt UNIQUE (receipt_code),
  CONSTRAINT fk_ballots_election FOREIGN KEY (election_id) REFERENCES elections (id)
);
CREATE INDEX idx_ballots_election ON ballots (election_id);

CREATE TABLE ballot_choices (
  ballot_id BIGINT NOT NULL,
  candidate_id BIGINT NOT NULL,
  preference INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY (ballot_id, candidate_id),
  CONSTRAINT fk_ballot_choices_ballot FOREIGN KEY (ballot_id) REFERENCES ballots (id) ON DELETE CASCADE,
  CONSTRAINT fk_ballot_choices_candidate FOREIGN KEY (candidate_id) REFERENCES candidates (id)
);
CREATE INDEX idx_ballot_choices_candidate ON ballot_choices (candidate_id);

CREATE TABLE voter_register (
  election_id BIGINT NOT NULL,
  member_id BIGINT NOT NULL,
  voted BOOLEAN NOT NULL DEFAULT FALSE,
  PRIMARY KEY (election_id, member_id),
  CONSTRAINT fk_voter_register_election FOREIGN KEY (election_id) REFERENCES elections (id) ON DELETE CASCADE,
  CONSTRAINT fk_voter_register_member FOREIGN KEY (member_id) REFERENCES members (id)
);
CREATE INDEX idx_voter_register_member ON voter_register (member_id);

CREATE VIEW election_results AS
  SELECT c.position_id, c.id AS candidate_id, COUNT(bc.ballot_id) AS votes
  FROM candidates c LEFT JOIN ballot_choices bc ON bc.candidate_id = c.id AND bc.preference = 1
  GROUP BY c.position_id, c.id;
