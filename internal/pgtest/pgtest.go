// Package pgtest starts a throw-away PostgreSQL cluster for tests: initdb
// into a temporary folder, postgres on a loopback port, removed when the
// test binary ends. It never touches the system's own cluster or service.
//
// One cluster serves a whole test binary (initdb takes seconds); each
// call of DSN creates a new, empty database in it, so tests stay apart.
// A package that uses it ends its TestMain with pgtest.Run, which stops
// the cluster; postgres also stops if the test binary is killed, since it
// is started with a parent-death signal.
//
// Outside CI a missing PostgreSQL makes the test skip; under CI (CI set
// in the environment) it fails, so the PostgreSQL tests can never be
// skipped quietly where they are meant to run.
package pgtest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Superuser is the cluster's superuser, whose password is in every DSN.
const Superuser = "mailsuite"

// Cluster is a running throw-away cluster.
type Cluster struct {
	Dir      string // data directory (and the Unix socket's folder)
	Addr     string // host:port on 127.0.0.1
	Password string // the superuser's password
	cmd      *exec.Cmd
	exited   chan struct{}
	log      string
}

var (
	once     sync.Once
	cluster  *Cluster
	startErr error
	dbSeq    atomic.Int64
)

// Available reports whether PostgreSQL's server binaries are installed.
func Available() bool {
	_, err := binDir()
	return err == nil
}

// Start returns the test binary's cluster, starting it on first use. It
// skips the test when PostgreSQL is not installed, except under CI.
func Start(t testing.TB) *Cluster {
	t.Helper()
	once.Do(func() { cluster, startErr = start() })
	if startErr != nil {
		if errors.Is(startErr, errNotInstalled) && os.Getenv("CI") == "" {
			t.Skipf("pgtest: %v (CI installs Debian's postgresql)", startErr)
		}
		t.Fatalf("pgtest: %v", startErr)
	}
	return cluster
}

// DSN creates a new empty database in the test binary's cluster and
// returns a libpq connection string for it, as the superuser.
func DSN(t testing.TB) string {
	t.Helper()
	c := Start(t)
	name := fmt.Sprintf("t%d_%d", os.Getpid(), dbSeq.Add(1))
	if err := c.Exec("postgres", "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	return c.DSNFor(name)
}

// DSNFor is the connection string for database name as the superuser.
func (c *Cluster) DSNFor(name string) string {
	host, port, _ := net.SplitHostPort(c.Addr)
	return fmt.Sprintf("host=%s port=%s user=%s password=%s dbname=%s sslmode=disable",
		host, port, Superuser, c.Password, name)
}

// Exec runs one SQL statement in database db with psql.
func (c *Cluster) Exec(db, sql string) error {
	bin, err := binDir()
	if err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(c.Addr)
	cmd := exec.Command(filepath.Join(bin, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
		"-h", host, "-p", port, "-U", Superuser, "-d", db, "-c", sql)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+c.Password)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("psql %q: %v: %s", sql, err, out)
	}
	return nil
}

// Run runs the package's tests and stops the cluster if one was started;
// call it from TestMain: os.Exit(pgtest.Run(m)).
func Run(m *testing.M) int {
	code := m.Run()
	if cluster != nil {
		cluster.stop()
	}
	return code
}

var errNotInstalled = errors.New("PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin)")

// binDir finds the newest installed server version's bin folder, as
// Debian lays them out, or initdb on PATH.
func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("postgres"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errNotInstalled
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// start runs initdb and postgres. As root, both run as nobody (PostgreSQL
// refuses to run as root), in a folder nobody owns.
func start() (*Cluster, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	cred, err := unprivileged()
	if err != nil {
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, err
		}
	}
	c := &Cluster{Dir: dir, Password: randomHex(16), log: filepath.Join(dir, "postgres.log")}
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(c.Password+"\n"), 0o644); err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", Superuser,
		"--pwfile", pwfile, "--auth", "scram-sha-256", "-E", "UTF8", "--locale", "C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	os.Remove(pwfile)
	for try := 0; ; try++ {
		err := c.run(bin, data, cred)
		if err == nil {
			return c, nil
		}
		if try == 10 {
			return nil, err
		}
	}
}

// run starts postgres on a random loopback port below the ephemeral
// range, and waits until it accepts connections. fsync and
// synchronous_commit stay on, as in production: benchmarks measure the
// real cost of a commit.
func (c *Cluster) run(bin, data string, cred *syscall.Credential) error {
	n, _ := rand.Int(rand.Reader, big.NewInt(12000))
	c.Addr = fmt.Sprintf("127.0.0.1:%d", 20000+n.Int64())
	_, port, _ := net.SplitHostPort(c.Addr)
	logf, err := os.OpenFile(c.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	if cred != nil {
		os.Chown(c.log, int(cred.Uid), int(cred.Gid))
	}
	c.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data,
		"-c", "listen_addresses=127.0.0.1", "-p", port, "-k", c.Dir,
		"-c", "max_connections=300", "-c", "shared_buffers=64MB")
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	if err := startLocked(c.cmd); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	c.exited = make(chan struct{})
	go func() { c.cmd.Wait(); close(c.exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-c.exited:
			log, _ := os.ReadFile(c.log)
			return fmt.Errorf("postgres exited at start: %s", tail(log))
		default:
		}
		if conn, err := net.DialTimeout("tcp", c.Addr, time.Second); err == nil {
			conn.Close()
			if c.Exec("postgres", "SELECT 1") == nil {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.stop()
	log, _ := os.ReadFile(c.log)
	return fmt.Errorf("postgres did not accept connections within 60 s: %s", tail(log))
}

// startLocked starts cmd from a goroutine whose OS thread never exits:
// the parent-death signal fires when the starting thread ends, not the
// process, so that thread must live as long as the test binary.
func startLocked(cmd *exec.Cmd) error {
	errc := make(chan error)
	go func() {
		runtime.LockOSThread()
		errc <- cmd.Start()
		select {} // keep the thread
	}()
	return <-errc
}

// stop shuts the cluster down fast and removes its folder.
func (c *Cluster) stop() {
	if c.cmd != nil && c.cmd.Process != nil {
		c.cmd.Process.Signal(syscall.SIGINT) // fast shutdown
		select {
		case <-c.exited:
		case <-time.After(20 * time.Second):
			c.cmd.Process.Kill()
			<-c.exited
		}
	}
	os.RemoveAll(c.Dir)
}

// unprivileged is the credential to run PostgreSQL with: nobody when
// running as root, nil (this process's own) otherwise.
func unprivileged() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		return nil, fmt.Errorf("running as root and no user nobody to run PostgreSQL as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// Kill stops postgres at once (as a crash would), for tests of what a
// lost database does to the daemons. The folder stays until Run ends.
func (c *Cluster) Kill() {
	c.cmd.Process.Signal(syscall.SIGQUIT)
	<-c.exited
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
