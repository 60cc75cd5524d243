ALTER TABLE employees ADD COLUMN employment_type VARCHAR(20) NULL;
CREATE INDEX idx_employees_type ON employees (employment_type);
