ALTER TABLE members ADD COLUMN preferred_language VARCHAR(10) NULL;
