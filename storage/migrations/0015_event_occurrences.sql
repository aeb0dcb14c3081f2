-- One occurrence of a recurring event with its own arrangement (the monthly lecture's speaker
-- rotates: "书记讲给书记听"): its own speaker and topic, skipped this time, or moved to another
-- moment. ``occurrence`` is the rule's local date (YYYY-MM-DD), the key the push log and the
-- answers already use, so a moved occurrence keeps its answers and its pushes are never sent
-- twice; ``moved_to`` is the new instant (UTC text), NULL for the rule's own time. A row with
-- nothing set is the rule's occurrence as it is.
CREATE TABLE event_occurrences (
    event_id INTEGER NOT NULL REFERENCES events(id),
    occurrence TEXT NOT NULL,
    speaker TEXT NOT NULL DEFAULT '',
    topic TEXT NOT NULL DEFAULT '',
    skipped INTEGER NOT NULL DEFAULT 0,
    moved_to TEXT,
    updated_by INTEGER REFERENCES people(id),
    updated_at TEXT NOT NULL,
    PRIMARY KEY (event_id, occurrence)
);

-- 请假 may carry a short reason (asked after the tap, skippable); shown to the organiser only.
ALTER TABLE event_answers ADD COLUMN reason TEXT NOT NULL DEFAULT '';
