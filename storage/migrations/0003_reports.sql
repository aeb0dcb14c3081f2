-- Sanitation clean-up reports (人居环境整治): one row per report, its categories (for queries
-- by category and month), its photos, and the audit trail of corrections and deletions.
CREATE TABLE reports (
    id INTEGER PRIMARY KEY,
    token TEXT NOT NULL UNIQUE,              -- the draft's client token: one report per save
    unit_id INTEGER NOT NULL REFERENCES units(id),
    reporter_id INTEGER NOT NULL REFERENCES people(id),
    work_date TEXT NOT NULL,                 -- YYYY-MM-DD, the day the work was done
    categories TEXT NOT NULL,                -- JSON list of category codes, display order
    other_name TEXT,                         -- the name typed for the category "other"
    place TEXT,
    latitude REAL CHECK (latitude BETWEEN -90 AND 90),
    longitude REAL CHECK (longitude BETWEEN -180 AND 180),
    cadres INTEGER NOT NULL DEFAULT 0 CHECK (cadres >= 0),
    members INTEGER NOT NULL DEFAULT 0 CHECK (members >= 0),
    villagers INTEGER NOT NULL DEFAULT 0 CHECK (villagers >= 0),
    garbage_trucks REAL CHECK (garbage_trucks >= 0),
    garbage_tons REAL CHECK (garbage_tons >= 0),
    area_m2 REAL CHECK (area_m2 >= 0),
    walls INTEGER CHECK (walls >= 0),
    ponds INTEGER CHECK (ponds >= 0),
    notes TEXT,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deleted')),
    created_at TEXT NOT NULL,                -- UTC, YYYY-MM-DDTHH:MM:SSZ
    updated_at TEXT NOT NULL
);
CREATE INDEX reports_unit_month ON reports (unit_id, work_date);
CREATE INDEX reports_reporter ON reports (reporter_id, created_at);

CREATE TABLE report_categories (
    report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    category TEXT NOT NULL,
    work_date TEXT NOT NULL,                 -- copy of reports.work_date, kept in step
    PRIMARY KEY (report_id, category)
);
CREATE INDEX report_categories_month ON report_categories (category, work_date);

CREATE TABLE report_photos (
    id INTEGER PRIMARY KEY,
    report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    phase TEXT NOT NULL CHECK (phase IN ('before', 'after')),
    file_id TEXT NOT NULL,
    file_unique_id TEXT NOT NULL,
    UNIQUE (report_id, position)
);

CREATE TABLE report_changes (
    id INTEGER PRIMARY KEY,
    report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    token TEXT UNIQUE,                       -- the correction's client token: one per save
    action TEXT NOT NULL CHECK (action IN ('correct', 'delete')),
    changed_by INTEGER NOT NULL REFERENCES people(id),
    changed_at TEXT NOT NULL,
    old_values TEXT NOT NULL,                -- JSON of the report before the change
    new_values TEXT                          -- JSON after a correction, NULL for a deletion
);
CREATE INDEX report_changes_report ON report_changes (report_id, id);
