CREATE TABLE timesheets (
  id INTEGER PRIMARY KEY,
  employee_id BIGINT NOT NULL,
  work_date DATE NOT NULL,
  hours DECIMAL(4,2) NOT NULL,
  approved BOOLEAN NOT NULL DEFAULT FALSE,
  CONSTRAINT uq_timesheets_day UNIQUE (employee_id, work_date),
  CONSTRAINT fk_timesheets_employee FOREIGN KEY (employee_id) REFERENCES employees (id) ON DELETE CASCADE,
  CONSTRAINT ck_timesheets_hours CHECK (hours > 0 AND hours <= 24)
);
CREATE VIEW hours_by_employee AS
  SELECT employee_id, SUM(hours) AS total_hours FROM timesheets WHERE approved = TRUE GROUP BY employee_id;
