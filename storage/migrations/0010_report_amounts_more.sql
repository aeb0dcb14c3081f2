-- Assigned number 0014: named 0008 on this branch only because load_migrations refuses gaps.
-- Amounts beyond the five original columns (trees, lights, metres, mu, cubic metres) and the
-- words of an amount the grammar did not read, as JSON {"trees": 120, "text": "..."}; and the
-- participant counts that were approximate, as JSON {"villagers": "more"} ("more" = 20余人,
-- "about" = 约20人). NULL when none.
ALTER TABLE reports ADD COLUMN amounts_more TEXT;
ALTER TABLE reports ADD COLUMN people_approx TEXT;
