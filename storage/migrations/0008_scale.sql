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
