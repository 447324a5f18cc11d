-- CONDSTORE and QRESYNC (RFC 7162): a mod-sequence for every change of a
-- message, so a client resynchronises in O(changes).
--
-- Each mailbox counts its changes in highestmodseq; every insert, flag
-- change and expunge of one of its messages takes the next value, in the
-- writer's transaction (triggers below, so every process's writes count).
-- The values live beside messages rather than in a column of it: a column
-- added to messages would sit after body, and reading it would walk the
-- body's overflow pages.
ALTER TABLE mailboxes ADD COLUMN highestmodseq INTEGER NOT NULL DEFAULT 1;

CREATE TABLE message_modseq (
    mailbox_id INTEGER NOT NULL,
    uid        INTEGER NOT NULL,
    modseq     INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX message_modseq_changed ON message_modseq(mailbox_id, modseq);

-- Expunged messages, with the mod-sequence of their expunge, for VANISHED
-- (EARLIER). They are kept until their mailbox is deleted: three integers
-- per expunge, and a client's modseq is never older than what they cover.
CREATE TABLE vanished (
    mailbox_id INTEGER NOT NULL,
    uid        INTEGER NOT NULL,
    modseq     INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX vanished_modseq ON vanished(mailbox_id, modseq);

-- Messages already stored start at mod-sequence 1, the mailboxes'.
INSERT INTO message_modseq (mailbox_id, uid, modseq) SELECT mailbox_id, uid, 1 FROM messages;

CREATE TRIGGER modseq_new AFTER INSERT ON messages BEGIN
    UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = NEW.mailbox_id;
    INSERT OR REPLACE INTO message_modseq (mailbox_id, uid, modseq)
        SELECT NEW.mailbox_id, NEW.uid, highestmodseq FROM mailboxes WHERE id = NEW.mailbox_id;
END;
CREATE TRIGGER modseq_flags AFTER UPDATE OF flags ON messages
WHEN OLD.flags IS NOT NEW.flags BEGIN
    UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = NEW.mailbox_id;
    UPDATE message_modseq SET modseq = (SELECT highestmodseq FROM mailboxes WHERE id = NEW.mailbox_id)
        WHERE mailbox_id = NEW.mailbox_id AND uid = NEW.uid;
END;
CREATE TRIGGER modseq_expunge AFTER DELETE ON messages BEGIN
    UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = OLD.mailbox_id;
    DELETE FROM message_modseq WHERE mailbox_id = OLD.mailbox_id AND uid = OLD.uid;
    INSERT OR REPLACE INTO vanished (mailbox_id, uid, modseq)
        SELECT OLD.mailbox_id, OLD.uid, highestmodseq FROM mailboxes WHERE id = OLD.mailbox_id;
END;
CREATE TRIGGER modseq_mailbox AFTER DELETE ON mailboxes BEGIN
    DELETE FROM message_modseq WHERE mailbox_id = OLD.id;
    DELETE FROM vanished WHERE mailbox_id = OLD.id;
END;
