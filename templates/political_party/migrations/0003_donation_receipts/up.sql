ALTER TABLE donations ADD COLUMN receipt_number VARCHAR(40) NULL;
CREATE UNIQUE INDEX uq_donations_receipt ON donations (receipt_number);
