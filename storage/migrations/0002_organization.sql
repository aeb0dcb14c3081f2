-- People and places: the unit tree, people with one role each, households, invites, group chats.
CREATE TABLE units (
    id INTEGER PRIMARY KEY,
    parent_id INTEGER REFERENCES units(id),
    level TEXT NOT NULL CHECK (level IN ('district', 'township', 'village', 'grid')),
    name TEXT NOT NULL,
    stars INTEGER CHECK (stars BETWEEN 1 AND 5),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE UNIQUE INDEX units_parent_name ON units (COALESCE(parent_id, 0), name);

CREATE TABLE people (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    phone TEXT,
    role TEXT NOT NULL
        CHECK (role IN ('district_admin', 'township_admin', 'secretary', 'member')),
    unit_id INTEGER NOT NULL REFERENCES units(id),
    first_secretary INTEGER NOT NULL DEFAULT 0,
    telegram_id INTEGER UNIQUE,
    joined_at TEXT,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE UNIQUE INDEX people_unit_name_role ON people (unit_id, name, role);

CREATE TABLE households (
    id INTEGER PRIMARY KEY,
    village_id INTEGER NOT NULL REFERENCES units(id),
    head TEXT NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    grid TEXT NOT NULL DEFAULT '',
    phone TEXT,
    member_id INTEGER REFERENCES people(id),
    archived INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE UNIQUE INDEX households_village_head_address ON households (village_id, head, address);
CREATE INDEX households_member ON households (member_id);

-- An invite binds whoever opens it to a person (chosen from the roster, or named by the joiner)
-- with a role in a unit. Moments are UTC ISO-8601 text (YYYY-MM-DDTHH:MM:SSZ): they compare
-- correctly as text. A single-use invite records who used it; a multi-use one (party members
-- of one village) counts its uses and each joiner picks their own name from the roster.
CREATE TABLE invites (
    code TEXT PRIMARY KEY,
    unit_id INTEGER NOT NULL REFERENCES units(id),
    role TEXT NOT NULL
        CHECK (role IN ('district_admin', 'township_admin', 'secretary', 'member')),
    first_secretary INTEGER NOT NULL DEFAULT 0,
    person_id INTEGER REFERENCES people(id),
    multi_use INTEGER NOT NULL DEFAULT 0,
    created_by INTEGER REFERENCES people(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT,
    uses INTEGER NOT NULL DEFAULT 0,
    used_by INTEGER,
    used_at TEXT,
    CHECK (multi_use = 0 OR person_id IS NULL)
);
CREATE INDEX invites_unit ON invites (unit_id, expires_at);
CREATE INDEX invites_person ON invites (person_id);

CREATE TABLE chats (
    chat_id INTEGER PRIMARY KEY,
    title TEXT NOT NULL DEFAULT '',
    unit_id INTEGER REFERENCES units(id),
    reminders INTEGER NOT NULL DEFAULT 1,
    notices INTEGER NOT NULL DEFAULT 1,
    bulletins INTEGER NOT NULL DEFAULT 1,
    bound_by INTEGER REFERENCES people(id),
    active INTEGER NOT NULL DEFAULT 1,
    bot_status TEXT NOT NULL DEFAULT 'member',
    bound_at TEXT,
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX chats_unit ON chats (unit_id);
