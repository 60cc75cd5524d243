DROP INDEX uq_donations_receipt ON donations;
ALTER TABLE donations DROP COLUMN receipt_number;
