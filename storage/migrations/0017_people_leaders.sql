-- The sweep's owed-units query (storage.tasks.TasksRepo.owed_units) looks up, for each pending
-- task unit, its leaders who can be reached in private: a partial index of exactly those rows
-- (active secretaries and admins with a Telegram id) answers it from the index alone.
CREATE INDEX people_leaders ON people (unit_id, telegram_id)
  WHERE active = 1 AND role IN ('secretary', 'township_admin', 'district_admin') AND telegram_id IS NOT NULL;
