package store

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// A watcher (imapd's hub) tails the change log with ChangesWithFlags and
// WaitChange. On SQLite all processes share one host, and a poll of the
// change log every ChangePoll is cheap. On PostgreSQL the writer may be
// on another host: every transaction that writes a change also sends a
// NOTIFY on ChangesChannel, and the store LISTENs on one connection of
// its own, so a watcher wakes within a round trip of the commit. Polling
// stays as the fallback while that connection is down.
const (
	// ChangePoll is how often a watcher looks at the change log when no
	// notification can wake it (SQLite, or PostgreSQL while the listening
	// connection is down).
	ChangePoll = 200 * time.Millisecond
	// changeSafetyPoll is how often a watcher looks anyway while the
	// listening connection is up: notifications are not lost on a live
	// connection, so this only bounds the damage of a surprise.
	changeSafetyPoll = 5 * time.Second
	// ChangesChannel is the PostgreSQL notification channel of the change
	// log.
	ChangesChannel = "mailsuite_changes"
	// CredentialsChannel is the PostgreSQL notification channel of
	// credential changes (see CredentialStamp).
	CredentialsChannel = "mailsuite_credentials"
	// feedRetryMax caps the pause between attempts to reconnect the
	// listening connection.
	feedRetryMax = 5 * time.Second
	// feedPing is how long the listening connection may stay quiet
	// before the feed makes sure it still carries, and how long that
	// check may take. A failover or a network cut can leave it
	// half-open, hearing nothing while the store's other connections
	// reach the server: the credential stamp would stay known with
	// changes unheard, so a lost connection is noticed within twice
	// this.
	feedPing = 15 * time.Second
)

// WaitChange returns when a change after cur may have been committed,
// by any process on any host, or when ctx ends (with its error). It may
// return with nothing new, so the caller reads the log (ChangesWithFlags)
// and waits again. cur is the caller's own copy (Clone).
func (s *Store) WaitChange(ctx context.Context, cur ChangeCursor) error {
	var wake <-chan struct{}
	wait := ChangePoll
	if s.Driver() == DriverPostgres {
		var up bool
		wake, up = s.changeFeed().subscribe()
		if up {
			wait = changeSafetyPoll
		}
		// A change committed before the subscription sent its
		// notification already: look once before waiting.
		if news, err := changesAfter(ctx, s.r, &cur, 1); err == nil && len(news) > 0 {
			return nil
		}
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-wake:
	case <-t.C:
	}
	return nil
}

// changeFeed returns the store's listener, starting it on first use: only
// a process that watches (imapd) or keeps sessions (pop3d, imapd: see
// CredentialStamp) holds the extra connection.
func (s *Store) changeFeed() *changeFeed {
	s.feedOnce.Do(func() {
		s.feed = newChangeFeed(s.DSN())
	})
	return s.feed
}

// closeFeed stops the listener, if one was started.
func (s *Store) closeFeed() {
	s.feedOnce.Do(func() {}) // no feed may start after Close
	if s.feed != nil {
		s.feed.close()
	}
}

// changeFeed holds one connection that LISTENs on ChangesChannel and
// CredentialsChannel, reconnecting after it is lost. It wakes every
// subscriber at each change notification, and moves its credentials
// generation at each credentials notification; both happen at each
// (re)connection too, which may follow missed notifications.
type changeFeed struct {
	dsn    string
	ping   time.Duration // feedPing; shorter in tests
	cancel context.CancelFunc
	done   chan struct{}

	mu    sync.Mutex
	wake  chan struct{} // closed at the next notification; guarded by mu
	up    bool          // listening now; guarded by mu
	creds uint64        // credentials generation, from 1; guarded by mu
}

func newChangeFeed(dsn string) *changeFeed { return startChangeFeed(dsn, feedPing) }

func startChangeFeed(dsn string, ping time.Duration) *changeFeed {
	ctx, cancel := context.WithCancel(context.Background())
	f := &changeFeed{dsn: dsn, ping: ping, cancel: cancel, done: make(chan struct{}), wake: make(chan struct{})}
	go f.run(ctx)
	return f
}

// subscribe returns a channel closed at the next notification, and
// whether the feed is listening now.
func (f *changeFeed) subscribe() (<-chan struct{}, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.wake, f.up
}

func (f *changeFeed) broadcast(up bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.up = up
	close(f.wake)
	f.wake = make(chan struct{})
}

// listening records that the feed listens (up) or stopped, and wakes
// every subscriber. Listening again also moves the credentials
// generation: a change may have been committed while it was down.
func (f *changeFeed) listening(up bool) {
	if up {
		f.credentialsChanged()
	}
	f.broadcast(up)
}

func (f *changeFeed) credentialsChanged() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.creds++
}

// credentials returns the credentials generation while the feed listens,
// and 0 while it does not (not yet, or the connection is lost): then no
// change can be trusted to move it.
func (f *changeFeed) credentials() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.up {
		return 0
	}
	return f.creds
}

func (f *changeFeed) close() {
	f.cancel()
	<-f.done
}

// run listens until ctx ends, reconnecting with a growing pause.
func (f *changeFeed) run(ctx context.Context) {
	defer close(f.done)
	pause := 100 * time.Millisecond
	for ctx.Err() == nil {
		if f.listen(ctx) {
			pause = 100 * time.Millisecond
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		pause = min(2*pause, feedRetryMax)
	}
}

// listen connects, LISTENs and relays notifications until the connection
// fails or ctx ends. It reports whether it got as far as listening.
func (f *changeFeed) listen(ctx context.Context) bool {
	conn, err := pgx.Connect(ctx, f.dsn)
	if err != nil {
		return false
	}
	defer conn.Close(context.Background())
	for _, ch := range []string{ChangesChannel, CredentialsChannel} {
		if _, err := conn.Exec(ctx, "LISTEN "+ch); err != nil {
			return false
		}
	}
	f.listening(true)
	defer f.listening(false)
	for {
		n, err := f.next(ctx, conn)
		if err != nil {
			return true
		}
		if n.Channel == CredentialsChannel {
			f.credentialsChanged()
		} else {
			f.broadcast(true)
		}
	}
}

// next waits for conn's next notification. When none comes for f.ping it
// pings the server, and fails if no answer comes within f.ping either.
func (f *changeFeed) next(ctx context.Context, conn *pgx.Conn) (*pgconn.Notification, error) {
	for {
		wctx, cancel := context.WithTimeout(ctx, f.ping)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if err == nil || ctx.Err() != nil || !pgconn.Timeout(err) {
			return n, err
		}
		// Quiet: a timed-out wait leaves the connection usable. The
		// ping is LISTEN again, a round trip that changes nothing and
		// keeps the connection's last query, which pg_stat_activity
		// shows, saying what it is for.
		pctx, cancel := context.WithTimeout(ctx, f.ping)
		_, err = conn.Exec(pctx, "LISTEN "+CredentialsChannel)
		cancel()
		if err != nil {
			return nil, err
		}
	}
}
