-- Deliveries commit in parallel (see runBatch in deliver.go), but a
-- transaction that sends a NOTIFY holds PostgreSQL's notification lock
-- through its commit, WAL flush included, so such commits would still
-- run one at a time across every host. A shared delivery transaction so
-- sets mailsuite.notify_after_commit, and its committer sends the
-- notification itself once the commit is done; every other writer
-- notifies from the trigger as before.
CREATE OR REPLACE FUNCTION changes_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('mailsuite.notify_after_commit', true) IS DISTINCT FROM 'on' THEN
        PERFORM pg_notify('mailsuite_changes', '');
    END IF;
    RETURN NULL;
END $$;
