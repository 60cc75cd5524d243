ALTER TABLE projects DROP COLUMN budget;
