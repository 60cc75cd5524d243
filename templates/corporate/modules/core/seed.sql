INSERT INTO departments (name, cost_center) VALUES ('Executive', 'CC-100'), ('Operations', 'CC-200');
