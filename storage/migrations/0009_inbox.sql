-- The durable inbox (bot/inbox.py): every update fetched from Telegram (polling) or posted to
-- the webhook is stored here before it is confirmed; it is marked done in the transaction that
-- makes its effects durable (the persistence flush). Rows not done are handled again at start.
CREATE TABLE inbox (
    update_id INTEGER PRIMARY KEY,
    chat_key INTEGER,
    data TEXT NOT NULL,
    received_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    done INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX inbox_pending ON inbox (update_id) WHERE done = 0;

-- One statement for a whole persistence flush: a multi-row INSERT into this view is one
-- implicit transaction, and the triggers route each row to its table.
-- kind: user, user_drop, chat, chat_drop, bot, conv, conv_drop, done
CREATE VIEW state_writes AS SELECT '' AS kind, '' AS name, '' AS key, '' AS data WHERE 0;
CREATE TRIGGER state_writes_user INSTEAD OF INSERT ON state_writes WHEN NEW.kind = 'user' BEGIN
    INSERT INTO ptb_user_data (user_id, data) VALUES (CAST(NEW.key AS INTEGER), NEW.data)
    ON CONFLICT (user_id) DO UPDATE SET data = excluded.data;
END;
CREATE TRIGGER state_writes_user_drop INSTEAD OF INSERT ON state_writes WHEN NEW.kind = 'user_drop' BEGIN
    DELETE FROM ptb_user_data WHERE user_id = CAST(NEW.key AS INTEGER);
END;
CREATE TRIGGER state_writes_chat INSTEAD OF INSERT ON state_writes WHEN NEW.kind = 'chat' BEGIN
    INSERT INTO ptb_chat_data (chat_id, data) VALUES (CAST(NEW.key AS INTEGER), NEW.data)
    ON CONFLICT (chat_id) DO UPDATE SET data = excluded.data;
END;
CREATE TRIGGER state_writes_chat_drop INSTEAD OF INSERT ON state_writes WHEN NEW.kind = 'chat_drop' BEGIN
    DELETE FROM ptb_chat_data WHERE chat_id = CAST(NEW.key AS INTEGER);
END;
CREATE TRIGGER state_writes_bot INSTEAD OF INSERT ON state_writes WHEN NEW.kind = 'bot' BEGIN
    INSERT INTO ptb_bot_data (id, data) VALUES (1, NEW.data)
    ON CONFLICT (id) DO UPDATE SET data = excluded.data;
END;
CREATE TRIGGER state_writes_conv INSTEAD OF INSERT ON state_writes WHEN NEW.kind = 'conv' BEGIN
    INSERT INTO ptb_conversations (name, key, state) VALUES (NEW.name, NEW.key, NEW.data)
    ON CONFLICT (name, key) DO UPDATE SET state = excluded.state;
END;
CREATE TRIGGER state_writes_conv_drop INSTEAD OF INSERT ON state_writes WHEN NEW.kind = 'conv_drop' BEGIN
    DELETE FROM ptb_conversations WHERE name = NEW.name AND key = NEW.key;
END;
CREATE TRIGGER state_writes_done INSTEAD OF INSERT ON state_writes WHEN NEW.kind = 'done' BEGIN
    UPDATE inbox SET done = 1 WHERE update_id = CAST(NEW.key AS INTEGER);
END;
