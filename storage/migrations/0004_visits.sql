-- Household visits (党员联户): the visit log and the follow-ups a visit leaves behind.
-- Days are local calendar days in CADRE_TZ (YYYY-MM-DD); moments are UTC ISO-8601 text
-- (YYYY-MM-DDTHH:MM:SSZ) so that they compare correctly as text.
CREATE TABLE visits (
    id INTEGER PRIMARY KEY,
    -- made when the draft was started: a double tap on 保存 or a redelivered update stores once
    token TEXT NOT NULL UNIQUE,
    member_id INTEGER NOT NULL REFERENCES people(id),
    household_id INTEGER NOT NULL REFERENCES households(id),
    visited_on TEXT NOT NULL
        CHECK (visited_on GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    -- comma-separated role codes: survey, policy, mediation, expert
    roles TEXT NOT NULL CHECK (roles <> ''),
    -- what the household raised (诉求): text, or a voice note kept by its Telegram file_id
    concern_text TEXT,
    concern_voice TEXT,
    concern_seconds INTEGER,
    outcome TEXT NOT NULL CHECK (outcome IN ('solved', 'follow_up', 'none')),
    photo TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX visits_household_day ON visits (household_id, visited_on);
CREATE INDEX visits_member_day ON visits (member_id, visited_on);
CREATE INDEX visits_day ON visits (visited_on);

CREATE TABLE followups (
    id INTEGER PRIMARY KEY,
    visit_id INTEGER NOT NULL UNIQUE REFERENCES visits(id),
    household_id INTEGER NOT NULL REFERENCES households(id),
    member_id INTEGER NOT NULL REFERENCES people(id),
    due_on TEXT NOT NULL CHECK (due_on GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    due_at TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    -- closing: when, by whom, what was done (text or a voice note), on which visit if any
    closed_at TEXT,
    closed_by INTEGER REFERENCES people(id),
    closed_visit_id INTEGER REFERENCES visits(id),
    resolution TEXT,
    resolution_voice TEXT,
    CHECK ((closed_at IS NULL) = (closed_by IS NULL))
);
CREATE INDEX followups_open_due ON followups (due_at) WHERE closed_at IS NULL;
CREATE INDEX followups_open_household ON followups (household_id) WHERE closed_at IS NULL;
CREATE INDEX followups_member ON followups (member_id);

-- lists of a village's households (active or archived) and of one member's
CREATE INDEX households_village_archived ON households (village_id, archived, head);
