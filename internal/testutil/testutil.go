// Package testutil holds the helpers that the tests of several packages
// share: a goroutine-safe log sink, a settable clock, a password hash made
// once, a self-signed certificate with a client configuration that trusts
// it, the bodies of a user's INBOX, commands built once per test binary,
// the daemons run as processes (daemon.go), and a dialer that connects
// from a chosen loopback address.
// It is for tests only; no production package imports it.
//
// It imports mailsuite/shared/auth (HashOnce), mailsuite/deploy/dev
// (SelfSigned) and mailsuite/store (Inbox), so the in-package tests of
// those three cannot use it; the other packages' tests can.
package testutil

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"mailsuite/deploy/dev"
	"mailsuite/internal/pgtest"
	"mailsuite/shared/auth"
	"mailsuite/store"
)

// SyncBuffer is a log sink safe for concurrent writers and readers. The
// zero value is ready to use.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer // guarded by mu
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Clock is a settable clock for store.WithClock and the queue runner.
type Clock struct {
	mu sync.Mutex
	t  time.Time // guarded by mu
}

// NewClock returns a clock that stands at t until Add moves it.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock forward by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// HashOnce returns a function that hashes pass with auth.HashPassword on
// its first call and returns the same hash after: argon2id is deliberately
// slow. It panics if hashing fails.
func HashOnce(pass string) func() string {
	return sync.OnceValue(func() string {
		h, err := auth.HashPassword(pass)
		if err != nil {
			panic(err)
		}
		return h
	})
}

// SelfSigned writes cert.pem and key.pem for "localhost" into dir with
// dev.GenerateSelfSigned and returns their paths and a client
// configuration that trusts the certificate.
func SelfSigned(t testing.TB, dir string) (certPath, keyPath string, client *tls.Config) {
	t.Helper()
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := dev.GenerateSelfSigned(certPath, keyPath, "localhost"); err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(certPath)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return certPath, keyPath, &tls.Config{RootCAs: pool, ServerName: "localhost"}
}

// Inbox returns the bodies of the messages in the user's INBOX, oldest
// first.
func Inbox(t testing.TB, st *store.Store, userID int64) []string {
	t.Helper()
	return Mailbox(t, st, userID, "INBOX")
}

// Mailbox returns the bodies of the messages in the user's mailbox name,
// oldest first.
func Mailbox(t testing.TB, st *store.Store, userID int64, name string) []string {
	t.Helper()
	ctx := context.Background()
	mb, err := st.MailboxByName(ctx, userID, name)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := st.Messages(ctx, mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		b, err := st.MessageBody(ctx, mb.ID, m.UID)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// Built binaries: one go build per package per test binary, all in binDir.
var (
	buildMu sync.Mutex
	builds  = map[string]func() (string, error){} // guarded by buildMu
	binDir  string                                // guarded by buildMu; "" until the first build
)

// Build compiles the command pkg (an import path such as "mailsuite/pop3d")
// without the race detector, since it runs as a separate process, and
// returns the executable's path. It builds each package once per test
// binary; later calls return the first result.
func Build(pkg string) (string, error) {
	buildMu.Lock()
	b := builds[pkg]
	if b == nil {
		b = sync.OnceValues(func() (string, error) { return build(pkg) })
		builds[pkg] = b
	}
	buildMu.Unlock()
	return b()
}

func build(pkg string) (string, error) {
	dir, err := buildDir()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, path.Base(pkg))
	if msg, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, msg)
	}
	return out, nil
}

func buildDir() (string, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	if binDir == "" {
		dir, err := os.MkdirTemp("", "mailsuite-test-bin")
		if err != nil {
			return "", err
		}
		binDir = dir
	}
	return binDir, nil
}

// BuildBinary is Build for a test that runs the binary: it skips the test
// under -short and fails it if the package does not build.
func BuildBinary(t testing.TB, pkg string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a binary")
	}
	bin, err := Build(pkg)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// Main runs a package's tests, deletes what Build wrote, stops the
// PostgreSQL cluster if a test started one (see pgtest) and exits with
// the tests' status. Call it from TestMain in packages that use Build.
func Main(m *testing.M) {
	code := pgtest.Run(m)
	buildMu.Lock()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	buildMu.Unlock()
	os.Exit(code)
}

// NeedClient returns the path of an external client, or skips the test
// when it is not installed (CI installs them all).
func NeedClient(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed", name)
	}
	return p
}

// FreePort returns a loopback address that was free a moment ago, for a
// daemon binary that must bind the address itself. The port is chosen
// below Linux's ephemeral range (32768-60999): a port the kernel handed
// out for ":0" goes back to the pool that outgoing connections draw their
// local ports from, and under load one of them took it before the daemon
// started ("address already in use").
func FreePort(t testing.TB) string {
	t.Helper()
	for range 200 {
		a := fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(12000))
		ln, err := net.Listen("tcp", a)
		if err != nil {
			continue
		}
		ln.Close()
		return a
	}
	t.Fatal("testutil: no free loopback port in 20000-31999")
	return ""
}

// DialFrom connects to addr from the loopback address from ("127.0.0.2"),
// so a test can be two clients of a per-address limit: Linux routes all
// of 127.0.0.0/8 to the loopback interface, and a listener on 127.0.0.1
// sees the connection come from that address.
func DialFrom(t testing.TB, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, from, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// EnvTestStore chooses the backend of the stores tests open: unset or
// "sqlite" for an SQLite file, "postgres" for a new database in the test
// binary's throw-away PostgreSQL cluster (see pgtest). The store's own
// tests read it too.
const EnvTestStore = "MAILSUITE_TEST_STORE"

// OpenStore opens a new, empty store for a test on the backend
// EnvTestStore names: the file mail.db in dir, or a new PostgreSQL
// database. It is closed when the test ends.
func OpenStore(t testing.TB, dir string, opts ...store.Option) *store.Store {
	t.Helper()
	var st *store.Store
	var err error
	if os.Getenv(EnvTestStore) == store.DriverPostgres {
		st, err = store.OpenPostgres(pgtest.DSN(t), opts...)
	} else {
		st, err = store.Open(filepath.Join(dir, "mail.db"), opts...)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// OpenOther opens another handle on st, a store OpenStore opened in dir,
// as another process (or, on PostgreSQL, another host) has. It is closed
// when the test ends.
func OpenOther(t testing.TB, st *store.Store, dir string) *store.Store {
	t.Helper()
	src := filepath.Join(dir, "mail.db")
	if st.Driver() == store.DriverPostgres {
		src = st.DSN()
	}
	other, err := store.OpenDriver(st.Driver(), src)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	return other
}

// KnownCredentialStamp waits until st's credential stamp is known (on
// PostgreSQL, until its listening connection listens), so that sessions
// logging in after it take the stamp's path rather than a full
// credential check at each command, and returns it.
func KnownCredentialStamp(t testing.TB, st *store.Store) store.CredentialStamp {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		if c := st.CredentialStamp(); c.Known() {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatal("the credential stamp never became known")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
