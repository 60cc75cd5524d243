INSERT INTO branches (code, name, level) VALUES ('NAT', 'National office', 'national');
INSERT INTO roles (name, description) VALUES
  ('chair', 'Chairs a branch'),
  ('secretary', 'Keeps the records of a branch'),
  ('treasurer', 'Keeps the accounts of a branch'),
  ('member', 'Ordinary member');
INSERT INTO permissions (code, description) VALUES
  ('members.read', 'See member records'),
  ('members.write', 'Edit member records'),
  ('finance.read', 'See donations and dues'),
  ('elections.manage', 'Run internal elections');
INSERT INTO role_permissions (role_id, permission_id)
  SELECT r.id, p.id FROM roles r, permissions p WHERE r.name = 'chair';
INSERT INTO role_permissions (role_id, permission_id)
  SELECT r.id, p.id FROM roles r, permissions p
  WHERE r.name = 'secretary' AND p.code IN ('members.read', 'members.write');
INSERT INTO role_permissions (role_id, permission_id)
  SELECT r.id, p.id FROM roles r, permissions p
  WHERE r.name = 'treasurer' AND p.code IN ('members.read', 'finance.read');
