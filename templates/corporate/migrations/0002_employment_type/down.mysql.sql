DROP INDEX idx_employees_type ON employees;
ALTER TABLE employees DROP COLUMN employment_type;
