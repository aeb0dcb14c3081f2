-- Tasks with deadlines, recurring events with answers, and the scheduler's push log.
-- Instants are UTC text 'YYYY-MM-DDTHH:MM:SSZ'; an event occurrence is its local date.
CREATE TABLE tasks (
    id INTEGER PRIMARY KEY,
    token TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    deadline TEXT NOT NULL,
    leads TEXT NOT NULL,
    created_by INTEGER NOT NULL REFERENCES people(id),
    scope_unit_id INTEGER NOT NULL REFERENCES units(id),
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_at TEXT NOT NULL,
    planned_from TEXT NOT NULL,
    extended INTEGER NOT NULL DEFAULT 0,
    closed_at TEXT,
    closed_by INTEGER REFERENCES people(id)
);
CREATE INDEX tasks_status ON tasks (status);

CREATE TABLE task_units (
    task_id INTEGER NOT NULL REFERENCES tasks(id),
    unit_id INTEGER NOT NULL REFERENCES units(id),
    done_at TEXT,
    done_by INTEGER REFERENCES people(id),
    note TEXT NOT NULL DEFAULT '',
    photo_file_id TEXT,
    PRIMARY KEY (task_id, unit_id)
);
CREATE INDEX task_units_unit ON task_units (unit_id);

CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    token TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    rule TEXT NOT NULL,
    place TEXT NOT NULL DEFAULT '',
    speaker TEXT NOT NULL DEFAULT '',
    leads TEXT NOT NULL,
    audience TEXT NOT NULL DEFAULT 'secretaries' CHECK (audience IN ('secretaries', 'everyone')),
    organiser INTEGER NOT NULL REFERENCES people(id),
    scope_unit_id INTEGER NOT NULL REFERENCES units(id),
    paused INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT
);

CREATE TABLE event_units (
    event_id INTEGER NOT NULL REFERENCES events(id),
    unit_id INTEGER NOT NULL REFERENCES units(id),
    PRIMARY KEY (event_id, unit_id)
);

CREATE TABLE event_answers (
    event_id INTEGER NOT NULL REFERENCES events(id),
    occurrence TEXT NOT NULL,
    telegram_id INTEGER NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    answer TEXT NOT NULL CHECK (answer IN ('yes', 'no')),
    answered_at TEXT NOT NULL,
    PRIMARY KEY (event_id, occurrence, telegram_id)
);

-- One row per push (what, which occurrence and slot, which chat): claimed before it is sent,
-- marked sent after; a failed send goes back to 'failed' and is claimed again later.
CREATE TABLE pushes (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    ref_id INTEGER NOT NULL,
    occurrence TEXT NOT NULL DEFAULT '',
    slot TEXT NOT NULL DEFAULT '',
    chat_id INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('claimed', 'sent', 'failed', 'dropped')),
    attempts INTEGER NOT NULL DEFAULT 1,
    claimed_at TEXT NOT NULL,
    sent_at TEXT,
    message_id INTEGER,
    error TEXT,
    UNIQUE (kind, ref_id, occurrence, slot, chat_id)
);
CREATE INDEX pushes_status ON pushes (status);
