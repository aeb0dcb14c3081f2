-- A follow-up returned by a reviewer is reopened so that its member does it again (issue 7,
-- review). The closing it had is not lost: it moves into the review trail as a 'closed' step
-- (by whoever closed it, at when it was closed, comment = what was done; a voice note's
-- file_id in the new column ``voice``, the visit it was closed on, if any, in ``visit_id``),
-- stored right before the 'returned' step in the same transaction. Closing it again is then
-- the 'resubmitted' step (storage.visits.reopen_followup, oversight.reclosed_after_return).
--
-- SQLite cannot change a CHECK constraint in place, so review_events is rebuilt; its rows
-- keep their ids (the trail's order).
CREATE TABLE review_events_new (
    id INTEGER PRIMARY KEY,
    item_kind TEXT NOT NULL CHECK (item_kind IN ('report', 'followup')),
    item_id INTEGER NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('verified', 'returned', 'resubmitted', 'closed')),
    by_person INTEGER REFERENCES people(id),
    comment TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    token TEXT UNIQUE,
    voice TEXT,
    visit_id INTEGER REFERENCES visits(id),
    CHECK (action <> 'closed' OR item_kind = 'followup'),
    CHECK ((voice IS NULL AND visit_id IS NULL) OR action = 'closed')
);
INSERT INTO review_events_new (id, item_kind, item_id, action, by_person, comment, at, token)
    SELECT id, item_kind, item_id, action, by_person, comment, at, token FROM review_events;
DROP TABLE review_events;
ALTER TABLE review_events_new RENAME TO review_events;
CREATE INDEX review_events_item ON review_events (item_kind, item_id, id);
