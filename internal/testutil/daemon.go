package testutil

import (
	"bytes"
	"fmt"
	"os/exec"
	"path"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Daemon is one of the suite's daemons running as its own process, as
// operators run it: the one way the e2e and per-daemon binary tests start,
// wait for and stop a daemon.
type Daemon struct {
	Name string // the command's name, e.g. "pop3d"
	Cmd  *exec.Cmd
	Log  *SyncBuffer // everything it wrote to stdout and stderr

	ready chan struct{} // closed when it logged "ready"
	done  chan struct{} // closed when it exited
	err   error         // its exit, once done is closed
}

// startTimeout bounds how long a daemon may take to be ready: generous,
// for a loaded machine.
const startTimeout = time.Minute

// StartDaemon runs the command pkg (an import path such as
// "mailsuite/pop3d", built once per test binary, see Build) with
// -config cfg, and returns once it logged "ready", which the daemons do
// after every listener serves (daemon.Run). A daemon that does not build,
// exits first, or takes longer than a minute fails the test with its log.
// It is killed when the test ends, unless stopped before.
//
// The config's ports were free when the test chose them, but on a busy
// machine an outgoing connection of another test may hold one for a
// moment: a start that fails with "address already in use" is tried
// again, a few times.
func StartDaemon(t testing.TB, pkg, cfg string) *Daemon {
	t.Helper()
	bin, err := Build(pkg)
	if err != nil {
		t.Fatalf("%s does not build: %v", pkg, err)
	}
	for try := 1; ; try++ {
		d := &Daemon{Name: path.Base(pkg), Log: &SyncBuffer{}, ready: make(chan struct{}), done: make(chan struct{})}
		d.Cmd = exec.Command(bin, "-config", cfg)
		w := &readyWriter{w: d.Log, ready: d.ready}
		d.Cmd.Stdout, d.Cmd.Stderr = w, w
		if err := d.Cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", d.Name, err)
		}
		go func() { d.err = d.Cmd.Wait(); close(d.done) }()
		t.Cleanup(d.Kill)
		select {
		case <-d.ready:
			return d
		case <-d.done:
			if try < 5 && strings.Contains(d.Log.String(), "address already in use") {
				time.Sleep(time.Second)
				continue
			}
			t.Fatalf("%s exited before it was ready (%v); log:\n%s", d.Name, d.err, d.Log)
		case <-time.After(startTimeout):
			d.Kill()
			t.Fatalf("%s not ready after %v; log:\n%s", d.Name, startTimeout, d.Log)
		}
		return nil
	}
}

// Stop sends SIGTERM and waits for the daemon to exit, killing it after
// 40 seconds; it returns the exit error (nil for a clean exit).
func (d *Daemon) Stop() error {
	d.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
		return d.err
	case <-time.After(40 * time.Second):
		d.Kill()
		return fmt.Errorf("%s did not stop within 40s after SIGTERM", d.Name)
	}
}

// Kill ends the daemon with SIGKILL, as a crash would, and waits for it.
func (d *Daemon) Kill() {
	d.Cmd.Process.Kill()
	<-d.done
}

// Done is closed when the daemon has exited.
func (d *Daemon) Done() <-chan struct{} { return d.done }

// Wait waits for the daemon to exit and returns the exit error.
func (d *Daemon) Wait() error {
	<-d.done
	return d.err
}

// readyWriter passes a daemon's output on and closes ready at its first
// "ready" line. slog writes each record in one Write.
type readyWriter struct {
	w     *SyncBuffer
	ready chan struct{}
	once  sync.Once
}

func (r *readyWriter) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(" msg=ready")) {
		r.once.Do(func() { close(r.ready) })
	}
	return r.w.Write(p)
}
