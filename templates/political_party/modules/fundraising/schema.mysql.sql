CREATE TABLE campaigns (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(150) NOT NULL,
  goal_amount DECIMAL(12,2) NULL,
  starts_on DATE NULL,
  ends_on DATE NULL,
  CONSTRAINT uq_campaigns_name UNIQUE (name)
);

CREATE TABLE donations (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  member_id BIGINT NULL,
  campaign_id BIGINT NULL,
  donor_name VARCHAR(200) NOT NULL,
  amount DECIMAL(12,2) NOT NULL,
  currency CHAR(3) NOT NULL DEFAULT 'EUR',
  method VARCHAR(20) NOT NULL DEFAULT 'transfer',
  received_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  receipt_number VARCHAR(40) NULL,
  CONSTRAINT fk_donations_member FOREIGN KEY (member_id) REFERENCES members (id) ON DELETE SET NULL,
  CONSTRAINT fk_donations_campaign FOREIGN KEY (campaign_id) REFERENCES campaigns (id) ON DELETE SET NULL,
  CONSTRAINT ck_donations_amount CHECK (amount > 0)
);
CREATE INDEX idx_donations_member ON donations (member_id);
CREATE INDEX idx_donations_campaign_received ON donations (campaign_id, received_at);
CREATE UNIQUE INDEX uq_donations_receipt ON donations (receipt_number);
