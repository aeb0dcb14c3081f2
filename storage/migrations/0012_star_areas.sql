-- Star ratings per area (五星支部: 基层党建, 集体经济, 产业发展, 美丽村庄, 基层治理) and an
-- admin's voiding of a report.

-- Every change of a village's rating in one area, with the date it counts from and its basis
-- (the inspection, the figures); the newest row of an area is its current rating. The
-- overall star (units.stars) derives from them (bot.rules.stars) and keeps its own history
-- in star_changes.
CREATE TABLE star_area_changes (
    id INTEGER PRIMARY KEY,
    unit_id INTEGER NOT NULL REFERENCES units(id),
    area TEXT NOT NULL CHECK (area IN ('party', 'economy', 'industry', 'village', 'governance')),
    met INTEGER NOT NULL CHECK (met IN (0, 1)),
    since TEXT NOT NULL,                      -- local date the rating counts from
    basis TEXT NOT NULL DEFAULT '',
    by_person INTEGER REFERENCES people(id),
    at TEXT NOT NULL
);
CREATE INDEX star_area_changes_unit ON star_area_changes (unit_id, area, id);

-- A report an admin voided (作废): the 'delete' row of its audit trail carries the reason;
-- NULL for a deletion by its author.
ALTER TABLE report_changes ADD COLUMN reason TEXT;
