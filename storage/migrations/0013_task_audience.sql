-- Who a task's pushes go to: the responsible people only ('people'), or their units' bound
-- groups too ('groups'). A rectification (软弱涣散 / 整顿) is a sensitive designation: people
-- only, never a village's party-member group.
ALTER TABLE tasks ADD COLUMN audience TEXT NOT NULL DEFAULT 'groups'
    CHECK (audience IN ('people', 'groups'));
UPDATE tasks SET audience = 'people' WHERE title LIKE '%软弱涣散%' OR title LIKE '%整顿%';
