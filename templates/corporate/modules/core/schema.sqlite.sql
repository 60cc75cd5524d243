CREATE TABLE departments (
  id INTEGER PRIMARY KEY,
  parent_id BIGINT NULL,
  name VARCHAR(120) NOT NULL,
  cost_center VARCHAR(20) NULL,
  CONSTRAINT uq_departments_name UNIQUE (name),
  CONSTRAINT fk_departments_parent FOREIGN KEY (parent_id) REFERENCES departments (id) ON DELETE SET NULL
);
CREATE INDEX idx_departments_parent ON departments (parent_id);
CREATE TABLE employees (
  id INTEGER PRIMARY KEY,
  department_id BIGINT NOT NULL,
  manager_id BIGINT NULL,
  employee_number VARCHAR(20) NOT NULL,
  full_name VARCHAR(200) NOT NULL,
  email VARCHAR(190) NOT NULL,
  hired_on DATE NOT NULL,
  employment_type VARCHAR(20) NULL,
  CONSTRAINT uq_employees_number UNIQUE (employee_number),
  CONSTRAINT uq_employees_email UNIQUE (email),
  CONSTRAINT fk_employees_department FOREIGN KEY (department_id) REFERENCES departments (id),
  CONSTRAINT fk_employees_manager FOREIGN KEY (manager_id) REFERENCES employees (id) ON DELETE SET NULL
);
CREATE INDEX idx_employees_department ON employees (department_id);
CREATE INDEX idx_employees_manager ON employees (manager_id);
CREATE INDEX idx_employees_type ON employees (employment_type);
