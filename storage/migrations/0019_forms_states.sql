-- The forms no longer run in PTB's ConversationHandler "forms": which form a user has open is
-- the engine's marker in ptb_user_data (saved with the drafts), so the handler's own copy of it
-- is never read again.
DELETE FROM ptb_conversations WHERE name = 'forms';
