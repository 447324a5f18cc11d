package testutil

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// DovecotBin is where Debian's dovecot-core package installs the daemon.
const DovecotBin = "/usr/sbin/dovecot"

// StartDovecot writes conf to dir/dovecot.conf, runs Dovecot in the
// foreground with it, and returns once every address in addrs accepts
// connections; Dovecot is stopped when the test ends. The tests that use
// Dovecot as the oracle (imapd) or as the server mail moves from (mailctl
// import) start it here, one way.
func StartDovecot(t testing.TB, dir, conf string, addrs ...string) {
	t.Helper()
	path := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(DovecotBin, "-F", "-c", path)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	for _, addr := range addrs {
		deadline := time.Now().Add(30 * time.Second)
		for {
			c, err := net.Dial("tcp", addr)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
				t.Fatalf("dovecot did not start: %v\n%s", err, log)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}
