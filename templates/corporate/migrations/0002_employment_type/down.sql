DROP INDEX idx_employees_type;
ALTER TABLE employees DROP COLUMN employment_type;
