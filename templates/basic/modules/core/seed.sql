INSERT INTO groups_ (name) VALUES ('staff'), ('everyone');
INSERT INTO settings (setting_key, setting_value) VALUES ('locale', 'en'), ('timezone', 'UTC');
