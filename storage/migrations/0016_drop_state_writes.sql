-- The persistence flush writes its tables with one prepared statement per kind, in one
-- transaction run whole in the database thread (storage/state.py, Database.write_batch): the
-- state_writes view of 0009 and its triggers (about 32 trigger statements an update) are unused.
DROP TRIGGER IF EXISTS state_writes_user;
DROP TRIGGER IF EXISTS state_writes_user_drop;
DROP TRIGGER IF EXISTS state_writes_chat;
DROP TRIGGER IF EXISTS state_writes_chat_drop;
DROP TRIGGER IF EXISTS state_writes_bot;
DROP TRIGGER IF EXISTS state_writes_conv;
DROP TRIGGER IF EXISTS state_writes_conv_drop;
DROP TRIGGER IF EXISTS state_writes_done;
DROP VIEW IF EXISTS state_writes;
