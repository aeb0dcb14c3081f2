-- Scale (issue 11): indexes the heavy queries' plans need, and the scheduler's "what is due".
--
-- The org subtree (WITH RECURSIVE ... u.parent_id = tree.id) had no index on parent_id (the
-- unique index is on COALESCE(parent_id, 0), name) and built an automatic index each run.
CREATE INDEX units_parent ON units (parent_id, level);
-- coverage's and the roster's people of a unit
CREATE INDEX people_unit_active ON people (unit_id, active);
-- the bulletin's and the ledger's follow-ups of households (closed ones too)
CREATE INDEX followups_household ON followups (household_id);
-- the events a unit is a target of (the triggers below)
CREATE INDEX event_units_unit ON event_units (unit_id);

-- The scheduler looks only at what is due. ``next_at`` (UTC text) is the moment a task or an
-- event next needs looking at: '' = now (new, changed, or with pushes not yet all sent). The
-- scheduler advances it once every push due has been sent; anything that changes who a push
-- goes to resets it ('' and ``plan_rev`` + 1, so that an advance computed before the change
-- is not written over it).
ALTER TABLE tasks ADD COLUMN next_at TEXT NOT NULL DEFAULT '';
ALTER TABLE tasks ADD COLUMN plan_rev INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN next_at TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN plan_rev INTEGER NOT NULL DEFAULT 0;
DROP INDEX tasks_status;
CREATE INDEX tasks_open_next ON tasks (status, next_at);
CREATE INDEX events_live_next ON events (next_at) WHERE deleted_at IS NULL AND paused = 0;

-- A unit's part done: its reminders stop (and a task all done needs no wake-up).
CREATE TRIGGER task_units_done AFTER UPDATE OF done_at ON task_units
BEGIN
    UPDATE tasks SET next_at = '', plan_rev = plan_rev + 1 WHERE id = NEW.task_id;
END;

-- A leader joins, leaves or moves: the open tasks of the unit (and those they created, for the
-- list of who is late) reach someone else now.
CREATE TRIGGER people_reach_added AFTER INSERT ON people
BEGIN
    UPDATE tasks SET next_at = '', plan_rev = plan_rev + 1
    WHERE status = 'open' AND id IN (SELECT task_id FROM task_units WHERE unit_id = NEW.unit_id);
END;
CREATE TRIGGER people_reach_changed
AFTER UPDATE OF telegram_id, active, unit_id, role ON people
BEGIN
    UPDATE tasks SET next_at = '', plan_rev = plan_rev + 1
    WHERE status = 'open' AND (created_by = NEW.id
        OR id IN (SELECT task_id FROM task_units WHERE unit_id IN (NEW.unit_id, OLD.unit_id)));
END;

-- A group bound, re-bound, switched on or back in: the tasks and events of its unit (and the
-- tasks of its villages, whose lists of who is late go to the township's group).
CREATE TRIGGER chats_reach_added AFTER INSERT ON chats WHEN NEW.unit_id IS NOT NULL
BEGIN
    UPDATE tasks SET next_at = '', plan_rev = plan_rev + 1
    WHERE status = 'open' AND id IN (
        SELECT task_id FROM task_units WHERE unit_id = NEW.unit_id
        UNION SELECT tu.task_id FROM units u JOIN task_units tu ON tu.unit_id = u.id
        WHERE u.parent_id = NEW.unit_id);
    UPDATE events SET next_at = '', plan_rev = plan_rev + 1
    WHERE id IN (SELECT event_id FROM event_units WHERE unit_id = NEW.unit_id);
END;
CREATE TRIGGER chats_reach_changed
AFTER UPDATE OF chat_id, unit_id, active, reminders, notices ON chats WHEN NEW.unit_id IS NOT NULL
BEGIN
    UPDATE tasks SET next_at = '', plan_rev = plan_rev + 1
    WHERE status = 'open' AND id IN (
        SELECT task_id FROM task_units WHERE unit_id = NEW.unit_id
        UNION SELECT tu.task_id FROM units u JOIN task_units tu ON tu.unit_id = u.id
        WHERE u.parent_id = NEW.unit_id);
    UPDATE events SET next_at = '', plan_rev = plan_rev + 1
    WHERE id IN (SELECT event_id FROM event_units WHERE unit_id = NEW.unit_id);
END;

-- A village moved to another township: its tasks' lists of who is late go to another group.
CREATE TRIGGER units_moved AFTER UPDATE OF parent_id ON units
BEGIN
    UPDATE tasks SET next_at = '', plan_rev = plan_rev + 1
    WHERE status = 'open' AND id IN (SELECT task_id FROM task_units WHERE unit_id = NEW.id);
END;

-- Follow-up reminders by the work due: the sweep looks only at open follow-ups whose member
-- can be reached (``reachable``: joined, active, the household not archived) and whose
-- reminder for the current due day is not yet sent or dropped (``reminded_on``). Both are kept
-- by triggers: the push log marks ``reminded_on``; people, households and follow-ups changing
-- recompute ``reachable`` (a member who joins later is reminded then, as before).
ALTER TABLE followups ADD COLUMN reminded_on TEXT;
ALTER TABLE followups ADD COLUMN reachable INTEGER NOT NULL DEFAULT 0;
UPDATE followups SET reachable = COALESCE((
    SELECT p.active = 1 AND p.telegram_id IS NOT NULL AND h.archived = 0
    FROM people p, households h WHERE p.id = followups.member_id AND h.id = followups.household_id
), 0) WHERE closed_at IS NULL;
UPDATE followups SET reminded_on = due_on WHERE closed_at IS NULL AND EXISTS (
    SELECT 1 FROM pushes s JOIN people p ON p.telegram_id = s.chat_id
    WHERE s.kind = 'visit_followup' AND s.ref_id = followups.id AND s.occurrence = followups.due_on
      AND s.slot = '' AND s.status IN ('sent', 'dropped') AND p.id = followups.member_id);
CREATE INDEX followups_to_remind ON followups (due_at)
    WHERE closed_at IS NULL AND reachable = 1 AND reminded_on IS NOT due_on;

CREATE TRIGGER pushes_followup_sent AFTER UPDATE OF status ON pushes
WHEN NEW.kind = 'visit_followup' AND NEW.status IN ('sent', 'dropped')
BEGIN
    UPDATE followups SET reminded_on = NEW.occurrence
    WHERE id = NEW.ref_id AND due_on = NEW.occurrence
      AND member_id IN (SELECT id FROM people WHERE telegram_id = NEW.chat_id);
END;
CREATE TRIGGER pushes_followup_logged AFTER INSERT ON pushes
WHEN NEW.kind = 'visit_followup' AND NEW.status IN ('sent', 'dropped')
BEGIN
    UPDATE followups SET reminded_on = NEW.occurrence
    WHERE id = NEW.ref_id AND due_on = NEW.occurrence
      AND member_id IN (SELECT id FROM people WHERE telegram_id = NEW.chat_id);
END;
CREATE TRIGGER followups_reach_added AFTER INSERT ON followups
BEGIN
    UPDATE followups SET reachable = COALESCE((
        SELECT p.active = 1 AND p.telegram_id IS NOT NULL AND h.archived = 0
        FROM people p, households h WHERE p.id = NEW.member_id AND h.id = NEW.household_id
    ), 0) WHERE id = NEW.id;
END;
CREATE TRIGGER followups_reach_changed AFTER UPDATE OF member_id, household_id, closed_at ON followups
WHEN NEW.closed_at IS NULL
BEGIN
    UPDATE followups SET reachable = COALESCE((
        SELECT p.active = 1 AND p.telegram_id IS NOT NULL AND h.archived = 0
        FROM people p, households h WHERE p.id = NEW.member_id AND h.id = NEW.household_id
    ), 0), reminded_on = CASE WHEN NEW.member_id = OLD.member_id THEN reminded_on END
    WHERE id = NEW.id;
END;
CREATE TRIGGER people_followups_reach AFTER UPDATE OF telegram_id, active ON people
BEGIN
    UPDATE followups SET reachable = COALESCE((
        SELECT NEW.active = 1 AND NEW.telegram_id IS NOT NULL AND h.archived = 0
        FROM households h WHERE h.id = followups.household_id
    ), 0), reminded_on = CASE WHEN NEW.telegram_id IS OLD.telegram_id THEN reminded_on END
    WHERE member_id = NEW.id AND closed_at IS NULL;
END;
CREATE TRIGGER households_followups_reach AFTER UPDATE OF archived ON households
BEGIN
    UPDATE followups SET reachable = COALESCE((
        SELECT p.active = 1 AND p.telegram_id IS NOT NULL AND NEW.archived = 0
        FROM people p WHERE p.id = followups.member_id
    ), 0)
    WHERE household_id = NEW.id AND closed_at IS NULL;
END;
