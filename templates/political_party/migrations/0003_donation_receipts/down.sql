DROP INDEX uq_donations_receipt;
ALTER TABLE donations DROP COLUMN receipt_number;
