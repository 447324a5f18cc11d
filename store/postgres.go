package store

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// The store's two backends, as OpenDriver and Driver name them.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// writeLockKey is the PostgreSQL advisory lock every write transaction
// takes first, in every process on every host. The store's writes were
// designed for SQLite, where one transaction writes at a time; the lock
// keeps that model, so READ COMMITTED inside a write transaction behaves
// as if serial. Only batches of plain deliveries, which write new rows
// and their recipients' rows alone, share it (lockBesideDeliveries), so
// that hosts delivering to different users commit in parallel. The
// number is arbitrary but fixed: "mailsuit" in ASCII.
const writeLockKey int64 = 0x6d61696c73756974

// OpenPostgres opens (and creates or migrates) the store in the
// PostgreSQL database named by dsn, a libpq connection string or URL.
func OpenPostgres(dsn string, opts ...Option) (*Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's message may quote the DSN, password and all.
		return nil, errors.New("store: postgres: cannot parse the connection string")
	}
	s := newStore(DriverPostgres, dsn, opts)
	s.path = fmt.Sprintf("postgres database %s on %s:%d", cfg.Database, cfg.Host, cfg.Port)
	s.w = sql.OpenDB(pgConnector{stdlib.GetConnector(*cfg)})
	// More writer connections would mostly queue for the write lock:
	// two let a lazy write prepare while a delivery batch commits, and a
	// third sends the batches' notifications (notifyLoop).
	s.w.SetMaxOpenConns(3)
	s.w.SetMaxIdleConns(3)
	ro := cfg.Copy()
	ro.RuntimeParams["default_transaction_read_only"] = "on"
	s.r = sql.OpenDB(pgConnector{stdlib.GetConnector(*ro)})
	s.r.SetMaxOpenConns(8)
	s.r.SetMaxIdleConns(8)
	s.r.SetConnMaxIdleTime(5 * time.Minute)
	if err := s.w.Ping(); err != nil {
		s.w.Close()
		s.r.Close()
		return nil, fmt.Errorf("store: %s: %w", s.path, err)
	}
	if err := s.migrate(); err != nil {
		s.w.Close()
		s.r.Close()
		return nil, err
	}
	if err := s.start(); err != nil {
		s.w.Close()
		s.r.Close()
		return nil, err
	}
	return s, nil
}

// OpenDriver opens the store with the named driver: "sqlite" (source is
// the file's path) or "postgres" (source is a libpq connection string).
func OpenDriver(driverName, source string, opts ...Option) (*Store, error) {
	switch driverName {
	case DriverSQLite, "":
		return Open(source, opts...)
	case DriverPostgres:
		return OpenPostgres(source, opts...)
	}
	return nil, fmt.Errorf("store: unknown driver %q (valid: %q or %q)", driverName, DriverSQLite, DriverPostgres)
}

// Driver names the store's backend: "sqlite" or "postgres".
func (s *Store) Driver() string { return s.driver }

// DSN is the PostgreSQL connection string the store was opened with
// (for LISTEN/NOTIFY and advisory locks on connections of one's own), or
// "" for SQLite.
func (s *Store) DSN() string { return s.dsn }

func (s *Store) postgres() bool { return s.driver == DriverPostgres }

// pgConnector makes pgx's database/sql connections take the store's SQL:
// placeholders are rewritten once here (see rebind) rather than at every
// call site, and read-only transactions read one snapshot, as SQLite's
// WAL readers do.
type pgConnector struct{ driver.Connector }

func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return pgConn{conn.(*stdlib.Conn)}, nil
}

type pgConn struct{ *stdlib.Conn }

func (c pgConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.Conn.PrepareContext(ctx, rebind(query))
	if err != nil {
		return nil, err
	}
	return pgStmt{st.(*stdlib.Stmt)}, nil
}

// pgStmt is a prepared statement whose arguments pass pgText.
type pgStmt struct{ *stdlib.Stmt }

func (s pgStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.Stmt.ExecContext(ctx, pgText(args))
}

func (s pgStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.Stmt.QueryContext(ctx, pgText(args))
}

func (c pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, rebind(query), pgText(args))
}

func (c pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, rebind(query), pgText(args))
}

// pgText makes every string argument storable as PostgreSQL text, which
// refuses NUL and invalid UTF-8 where SQLite stores any bytes: a remote
// server's reply recorded in the queue, a subject in the sending counts or
// a login name in the throttle would otherwise fail the whole write (a
// delivery, a queue run). Such bytes become U+FFFD. Names the store looks
// up are canonical (valid UTF-8), so a changed argument finds nothing it
// should not.
func pgText(args []driver.NamedValue) []driver.NamedValue {
	for i, a := range args {
		if s, ok := a.Value.(string); ok && (!utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0) {
			args[i].Value = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
		}
	}
	return args
}

func (c pgConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if opts.ReadOnly && sql.IsolationLevel(opts.Isolation) == sql.LevelDefault {
		opts.Isolation = driver.IsolationLevel(sql.LevelRepeatableRead)
	}
	return c.Conn.BeginTx(ctx, opts)
}

// lockMode is how a PostgreSQL write transaction takes the write lock.
type lockMode int

const (
	// lockAlone: no other write runs meanwhile, on any host; every write
	// but a batch of deliveries.
	lockAlone lockMode = iota
	// lockBesideDeliveries: other hosts' delivery batches may run and
	// commit meanwhile, each with its recipients' INBOXes locked (see
	// runBatch). The transaction takes its ID at once (see ChangeCursor)
	// and leaves the notification of its changes to its committer (see
	// migrations/postgres/0003).
	lockBesideDeliveries
)

// beginPostgres starts a write transaction: it waits for the store's
// write lock no longer than ctx allows (lock_timeout; an expired wait is
// busy, as SQLite's busy timeout) and takes it.
func beginPostgres(ctx context.Context, conn *sql.Conn, txCtx context.Context, mode lockMode) (*sql.Tx, error) {
	tx, err := conn.BeginTx(txCtx, nil)
	if err != nil {
		return nil, err
	}
	wait := busyTimeout
	if d, ok := ctx.Deadline(); ok {
		wait = min(wait, max(time.Until(d), time.Millisecond))
	}
	// One round trip. The wait is bounded only while taking the lock,
	// but for the whole of a batch of deliveries: its other waits are
	// for its recipients' INBOXes (see orderDeliveries), which another
	// host's batch holds until its commit.
	lock := `pg_advisory_xact_lock(?), set_config('lock_timeout', '0', true)`
	if mode == lockBesideDeliveries {
		lock = `pg_advisory_xact_lock_shared(?), pg_current_xact_id(),
			set_config('mailsuite.notify_after_commit', 'on', true)`
	}
	_, err = tx.ExecContext(ctx, `SELECT set_config('lock_timeout', ?, true), `+lock,
		fmt.Sprint(wait.Milliseconds()), writeLockKey)
	if err != nil {
		tx.Rollback()
		return nil, err
	}
	return tx, nil
}

// notifyLoop wakes the watchers on every host after the commits whose
// transactions left that to their committer (lockBesideDeliveries): the
// committer asks (notifyReq) and goes on with its next batch, and the
// commits made while one notification is sent share the next. Each is a
// transaction of its own that waits for no WAL flush: a notification
// lost to a crash costs a watcher its safety poll, not a change.
func (s *Store) notifyLoop() {
	defer s.committer.Done()
	for {
		select {
		case <-s.notifyReq:
		case <-s.quit:
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), busyTimeout)
		// Best effort, as above: an error here has nothing left to undo.
		s.w.ExecContext(ctx, `SELECT set_config('synchronous_commit', 'off', true), pg_notify(?, '')`, ChangesChannel)
		cancel()
	}
}

// notifyChanges asks notifyLoop for a notification, unless one is asked
// for already.
func (s *Store) notifyChanges() {
	select {
	case s.notifyReq <- struct{}{}:
	default:
	}
}

// orderDeliveries sorts a batch of plain deliveries so that it takes its
// recipients' INBOXes in one order, their users' IDs, as it delivers; two
// hosts' batches to the same users then wait for each other instead of
// deadlocking, which PostgreSQL would break only after deadlock_timeout
// (a second). The order of the messages within a batch means nothing
// (they arrived together). It reports false when the recipients of two
// messages interleave (one to users 1 and 3, one to 2): lockInboxesTx
// then locks them all first.
func orderDeliveries(batch []*acceptReq) bool {
	for _, r := range batch {
		if !slices.IsSorted(r.env.Local) {
			r.env.Local = slices.Sorted(slices.Values(r.env.Local))
		}
	}
	first := func(r *acceptReq) int64 {
		if len(r.env.Local) == 0 {
			return 0
		}
		return r.env.Local[0]
	}
	slices.SortStableFunc(batch, func(a, b *acceptReq) int { return cmp.Compare(first(a), first(b)) })
	last := int64(0)
	for _, r := range batch {
		for _, id := range r.env.Local {
			if id < last {
				return false
			}
			last = id
		}
	}
	return true
}

// lockInboxesTx locks the INBOXes of a batch's recipients in the order
// of orderDeliveries, their users' IDs, before it writes anything: for
// the batches that orderDeliveries cannot order. Everything else a plain delivery writes is new
// rows, or rows of those recipients (their usage and bounce counts),
// whose INBOXes the batch holds by then.
func lockInboxesTx(tx *sql.Tx, batch []*acceptReq) error {
	var ids []string
	for _, r := range batch {
		for _, id := range r.env.Local {
			ids = append(ids, strconv.FormatInt(id, 10))
		}
	}
	if len(ids) == 0 {
		return nil
	}
	_, err := tx.Exec(`SELECT id FROM mailboxes WHERE user_id = ANY(?::bigint[]) AND name = 'INBOX'
		ORDER BY user_id FOR UPDATE`, "{"+strings.Join(ids, ",")+"}")
	return err
}

// deliverInboxPostgresTx is deliverInboxTx in one statement: PostgreSQL
// takes the UID and inserts the message in one round trip (SQLite has no
// UPDATE in a WITH). Each round trip of a delivery batch is paid while the
// write lock is held, and this halves them.
func deliverInboxPostgresTx(tx *sql.Tx, userID, date int64, body []byte) error {
	res, err := tx.Exec(`WITH b AS (UPDATE mailboxes SET uidnext = uidnext + 1
			WHERE user_id = ? AND name = 'INBOX' RETURNING id, uidnext - 1 AS uid)
		INSERT INTO messages (mailbox_id, uid, flags, internal_date, size, body)
		SELECT id, uid, '', ?, ?, ? FROM b`, userID, date, len(body), body)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("INBOX: %w", ErrNotFound)
	}
	return nil
}

// PostgreSQL error codes the store tells apart.
const (
	pgUniqueViolation      = "23505"
	pgSerializationFailure = "40001"
	pgDeadlockDetected     = "40P01"
	pgLockNotAvailable     = "55P03"
)

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// isBusy reports a lock held by another connection or process: retry.
func isBusy(err error) bool {
	switch pgCode(err) {
	case pgSerializationFailure, pgDeadlockDetected, pgLockNotAvailable:
		return true
	}
	return isSQLiteBusy(err)
}

// isUnique reports a UNIQUE or PRIMARY KEY constraint violation.
func isUnique(err error) bool {
	return pgCode(err) == pgUniqueViolation || isSQLiteUnique(err)
}
