package daemon

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailsuite/internal/testutil"
)

func TestListenPortInUse(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()

	specs := []ListenerSpec{
		{Addr: "127.0.0.1:0", Name: "pop3d.listen"},
		{Addr: busy.Addr().String(), Name: "smtpd.listen"},
	}
	lns, err := Listen(specs)
	if err == nil {
		for _, l := range lns {
			l.Close()
		}
		t.Fatal("Listen on a busy port succeeded")
	}
	want := "listen " + busy.Addr().String() + " (smtpd.listen): address already in use"
	if err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Error("error does not wrap EADDRINUSE")
	}
}

func TestListenOpensAll(t *testing.T) {
	lns, err := Listen([]ListenerSpec{{Addr: "127.0.0.1:0"}, {Addr: "127.0.0.1:0", TLS: true}})
	if err != nil {
		t.Fatal(err)
	}
	if len(lns) != 2 {
		t.Fatalf("got %d listeners", len(lns))
	}
	for _, l := range lns {
		l.Close()
	}
}

func TestRunReloadThenShutdown(t *testing.T) {
	// A fake systemd notify socket records the states sent.
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)

	var logs testutil.SyncBuffer
	log := newLogger(&logs, "test", slog.LevelInfo, false)
	sigs := make(chan os.Signal)
	reloads := 0
	reload := func() error {
		reloads++
		if reloads == 2 {
			return errors.New("bad cert")
		}
		return nil
	}
	var deadline time.Time
	shutdown := func(ctx context.Context) error {
		deadline, _ = ctx.Deadline()
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- run(log, sigs, reload, shutdown) }()

	sigs <- syscall.SIGHUP
	sigs <- syscall.SIGHUP
	sigs <- syscall.SIGTERM
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return after SIGTERM")
	}
	if reloads != 2 {
		t.Errorf("reload called %d times, want 2", reloads)
	}
	if left := time.Until(deadline); left < 25*time.Second || left > ShutdownTimeout {
		t.Errorf("shutdown deadline %v away, want about %v", left, ShutdownTimeout)
	}
	got := logs.String()
	for _, want := range []string{"msg=reloaded", `msg="reload failed" daemon=test err="bad cert"`, `msg="shutting down"`} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %q:\n%s", want, got)
		}
	}

	var states []string
	buf := make([]byte, 256)
	for range 2 {
		conn.SetReadDeadline(time.Now().Add(time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("read notify socket: %v", err)
		}
		states = append(states, string(buf[:n]))
	}
	if strings.Join(states, ",") != "READY=1,STOPPING=1" {
		t.Errorf("notified %q, want READY=1 then STOPPING=1", states)
	}
}

func TestRunSecondSignalCancelsShutdown(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	log := newLogger(&testutil.SyncBuffer{}, "test", slog.LevelInfo, false)
	sigs := make(chan os.Signal)
	started := make(chan struct{})
	shutdown := func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}
	done := make(chan error, 1)
	go func() { done <- run(log, sigs, nil, shutdown) }()
	sigs <- syscall.SIGHUP // no reload function: ignored
	sigs <- syscall.SIGINT
	<-started
	sigs <- syscall.SIGINT
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("run = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("second signal did not cut shutdown short")
	}
}

func TestCheckCgo(t *testing.T) {
	// This package is tested with and without cgo; either way the answer
	// must match the build.
	err := CheckCgo()
	if cgoEnabled != (err == nil) {
		t.Errorf("CheckCgo() = %v with cgo=%v", err, cgoEnabled)
	}
	if err != nil && !strings.Contains(err.Error(), "CGO_ENABLED=1") {
		t.Errorf("error does not say how to fix: %v", err)
	}
}

func TestPeerIP(t *testing.T) {
	for _, tc := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 4000}, "192.0.2.7"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 4000}, "2001:db8::1"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.7"), Port: 1}, "192.0.2.7"},
		{nil, ""},
	} {
		if got := PeerIP(tc.addr); got != tc.want {
			t.Errorf("PeerIP(%v) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}
