INSERT INTO campaigns (name, goal_amount) VALUES ('General fund', NULL);
