-- Every transaction that writes to the change log wakes the watchers
-- (imapd's hub, on every host) when it commits: one notification per
-- statement, and PostgreSQL folds identical ones of one transaction into
-- one, so a delivery batch of many messages sends one. A rolled-back
-- transaction sends none. See WaitChange in watch.go.
CREATE FUNCTION changes_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('mailsuite_changes', '');
    RETURN NULL;
END $$;
CREATE TRIGGER changes_notify AFTER INSERT ON changes
    FOR EACH STATEMENT EXECUTE FUNCTION changes_notify();
