-- Oversight by townships and the district: star levels' history, 先进带后进 help pairs and the
-- review trail of clean-up reports and visit follow-ups. (Bulletins sent are in the scheduler's
-- push log, kind 'bulletin'.)

-- Every change of a village's star level (units.stars holds the current one).
CREATE TABLE star_changes (
    id INTEGER PRIMARY KEY,
    unit_id INTEGER NOT NULL REFERENCES units(id),
    old_stars INTEGER CHECK (old_stars BETWEEN 1 AND 5),
    new_stars INTEGER CHECK (new_stars BETWEEN 1 AND 5),
    by_person INTEGER REFERENCES people(id),
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX star_changes_unit ON star_changes (unit_id, id);

-- 先进带后进: a stronger village helps a weaker one from a local date until it is ended.
CREATE TABLE help_pairs (
    id INTEGER PRIMARY KEY,
    helper_id INTEGER NOT NULL REFERENCES units(id),
    helped_id INTEGER NOT NULL REFERENCES units(id),
    since TEXT NOT NULL,
    ended TEXT,
    created_by INTEGER REFERENCES people(id),
    ended_by INTEGER REFERENCES people(id),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    CHECK (helper_id <> helped_id)
);
CREATE UNIQUE INDEX help_pairs_open ON help_pairs (helper_id, helped_id) WHERE ended IS NULL;
CREATE INDEX help_pairs_helped ON help_pairs (helped_id);

-- The audit trail of reviews: one row per step, never updated. The current state of an item
-- is its newest row (none: not reviewed yet).
CREATE TABLE review_events (
    id INTEGER PRIMARY KEY,
    item_kind TEXT NOT NULL CHECK (item_kind IN ('report', 'followup')),
    item_id INTEGER NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('verified', 'returned', 'resubmitted')),
    by_person INTEGER REFERENCES people(id),
    comment TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    token TEXT UNIQUE
);
CREATE INDEX review_events_item ON review_events (item_kind, item_id, id);
