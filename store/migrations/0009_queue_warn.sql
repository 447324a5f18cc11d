-- Delayed-delivery notices (schema version 9).

-- warned is 1 once the sender of a queued message was sent its one
-- "Action: delayed" notice (smtpd.queue.delay_warning), so a message that
-- keeps failing warns once, not at every retry.
ALTER TABLE queue ADD COLUMN warned INTEGER NOT NULL DEFAULT 0;
