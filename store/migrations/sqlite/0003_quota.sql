-- Quotas and usage (schema version 3).

-- A user's storage quota in bytes of stored messages: NULL takes the
-- configured default (quota.storage), 0 is unlimited.
ALTER TABLE users ADD COLUMN quota_storage INTEGER;

-- What each user's messages take, over all their mailboxes: bytes (the sum
-- of messages.size) and the message count. Kept exact by the triggers
-- below, in the same transaction as every insert and delete of a message,
-- so reading a user's usage is one row, never a sum over their mail.
CREATE TABLE user_usage (
    user_id  INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    bytes    INTEGER NOT NULL DEFAULT 0,
    messages INTEGER NOT NULL DEFAULT 0
);
INSERT INTO user_usage (user_id, bytes, messages)
    SELECT u.id, coalesce(sum(m.size), 0), count(m.id)
    FROM users u
    LEFT JOIN mailboxes b ON b.user_id = u.id
    LEFT JOIN messages m ON m.mailbox_id = b.id
    GROUP BY u.id;

CREATE TRIGGER users_usage AFTER INSERT ON users BEGIN
    INSERT INTO user_usage (user_id) VALUES (NEW.id);
END;
CREATE TRIGGER messages_usage_new AFTER INSERT ON messages BEGIN
    UPDATE user_usage SET bytes = bytes + NEW.size, messages = messages + 1
    WHERE user_id = (SELECT user_id FROM mailboxes WHERE id = NEW.mailbox_id);
END;
CREATE TRIGGER messages_usage_expunge AFTER DELETE ON messages BEGIN
    UPDATE user_usage SET bytes = bytes - OLD.size, messages = messages - 1
    WHERE user_id = (SELECT user_id FROM mailboxes WHERE id = OLD.mailbox_id);
END;
-- A mailbox deleted with messages in it (by the cascade from its user, or
-- a future path that does not delete the messages first) gives back what
-- they take here: the cascade deletes the messages after the mailbox row,
-- when the trigger above no longer finds their user.
CREATE TRIGGER mailboxes_usage BEFORE DELETE ON mailboxes BEGIN
    UPDATE user_usage SET
        bytes = bytes - (SELECT coalesce(sum(size), 0) FROM messages WHERE mailbox_id = OLD.id),
        messages = messages - (SELECT count(*) FROM messages WHERE mailbox_id = OLD.id)
    WHERE user_id = OLD.user_id;
END;

-- The keywords (lower case) recorded as in use in each mailbox, so that
-- the quota.max_keywords check reads a few rows, not every message's
-- flags. A STORE or APPEND records the keywords it brings; when they would
-- exceed the limit, the set is rebuilt from the messages, so keywords no
-- longer on any message stop counting.
CREATE TABLE mailbox_keywords (
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    keyword    TEXT NOT NULL,
    PRIMARY KEY (mailbox_id, keyword)
) WITHOUT ROWID;
