ALTER TABLE members DROP COLUMN preferred_language;
