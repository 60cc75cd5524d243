INSERT INTO membership_types (name, annual_fee) VALUES ('individual', 30.00), ('student', 10.00), ('supporter', 100.00);
