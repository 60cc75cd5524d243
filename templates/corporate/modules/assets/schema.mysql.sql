CREATE TABLE assets (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  tag VARCHAR(40) NOT NULL,
  description VARCHAR(200) NOT NULL,
  holder_id BIGINT NULL,
  purchased_on DATE NULL,
  value DECIMAL(12,2) NULL,
  CONSTRAINT uq_assets_tag UNIQUE (tag),
  CONSTRAINT fk_assets_holder FOREIGN KEY (holder_id) REFERENCES employees (id) ON DELETE SET NULL
);
CREATE INDEX idx_assets_holder ON assets (holder_id);
