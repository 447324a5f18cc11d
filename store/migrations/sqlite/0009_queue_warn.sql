-- Delayed-delivery notices (schema version 9).

-- warned is 1 once the sender of a queued message was sent its one
-- "Action: delayed" notice (smtpd.queue.delay_warning), so a message that
-- keeps failing warns once, not at every retry.
ALTER TABLE queue ADD COLUMN warned INTEGER NOT NULL DEFAULT 0;

-- The latest successful login of each account per protocol and client
-- address, for "mailctl user show". Written in the transaction that
-- settles the login's attempt (store.AttemptSucceeded), at most once a
-- minute per row; rows older than the known-device time (30 days) go.
CREATE TABLE logins (
    account TEXT NOT NULL,
    proto   TEXT NOT NULL,
    ip      TEXT NOT NULL,
    last    INTEGER NOT NULL,
    PRIMARY KEY (account, proto, ip)
);
CREATE INDEX logins_last ON logins(last);
