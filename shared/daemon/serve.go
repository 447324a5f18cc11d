package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	sddaemon "github.com/coreos/go-systemd/v22/daemon"
)

// ShutdownTimeout bounds how long Run waits for the shutdown function, well
// inside systemd's default 90s stop timeout.
const ShutdownTimeout = 30 * time.Second

// ListenerSpec describes one address a daemon listens on.
type ListenerSpec struct {
	Addr string // "host:port"
	// TLS marks an implicit-TLS port (465, 993, 995). Listen returns plain
	// listeners; the daemon wraps these with tls.NewListener.
	TLS bool
	// Name says where the address came from, ideally the config key such as
	// "smtpd.submission", so errors tell the operator what to change.
	Name string
}

// Listen opens every listener before the daemon reports ready, so a port in
// use fails the start with a clear error instead of a half-working daemon.
// On error the listeners already opened are closed.
func Listen(specs []ListenerSpec) ([]net.Listener, error) {
	lns := make([]net.Listener, 0, len(specs))
	for _, s := range specs {
		ln, err := net.Listen("tcp", s.Addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, listenError(s, err)
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

// listenError turns "listen tcp 0.0.0.0:25: bind: address already in use"
// into "listen 0.0.0.0:25 (smtpd.listen): address already in use", adding a
// hint for the privileged-port case.
func listenError(s ListenerSpec, err error) error {
	where := s.Addr
	if s.Name != "" {
		where += " (" + s.Name + ")"
	}
	var se *os.SyscallError
	if errors.As(err, &se) {
		err = se.Err
	}
	if errors.Is(err, syscall.EACCES) {
		return fmt.Errorf("listen %s: %w (ports below 1024 need root or CAP_NET_BIND_SERVICE)", where, err)
	}
	return fmt.Errorf("listen %s: %w", where, err)
}

// Run is the daemon's main loop once its listeners serve: it tells systemd
// the daemon is ready, calls reload on SIGHUP (if reload is non-nil) and
// logs the outcome, and on SIGTERM or SIGINT tells systemd it is stopping
// and calls shutdown with a ShutdownTimeout deadline. A second SIGTERM or
// SIGINT during shutdown cancels that context. Run returns shutdown's error.
// Without NOTIFY_SOCKET (not under systemd) the notifications are no-ops.
func Run(log *slog.Logger, reload func() error, shutdown func(context.Context) error) error {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	return run(log, sigs, reload, shutdown)
}

// run is Run with the signal source injected for tests.
func run(log *slog.Logger, sigs <-chan os.Signal, reload func() error, shutdown func(context.Context) error) error {
	notify(log, sddaemon.SdNotifyReady)
	log.Info("ready")
	for sig := range sigs {
		if sig == syscall.SIGHUP {
			if reload == nil {
				log.Info("SIGHUP ignored: nothing to reload")
				continue
			}
			if err := reload(); err != nil {
				log.Error("reload failed", "err", err)
			} else {
				log.Info("reloaded")
			}
			continue
		}
		log.Info("shutting down", "signal", sig.String())
		notify(log, sddaemon.SdNotifyStopping)
		return shutdownWithin(log, sigs, shutdown)
	}
	return errors.New("signal channel closed")
}

// shutdownWithin runs shutdown with a deadline that a further stop signal
// cuts short.
func shutdownWithin(log *slog.Logger, sigs <-chan os.Signal, shutdown func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- shutdown(ctx) }()
	for {
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("shutdown: %w", err)
			}
			log.Info("stopped")
			return nil
		case sig := <-sigs:
			if sig != syscall.SIGHUP {
				log.Warn("second signal, forcing shutdown", "signal", sig.String())
				cancel()
			}
		}
	}
}

// notify sends a state to systemd; failure is logged, not fatal, since the
// daemon works without it.
func notify(log *slog.Logger, state string) {
	if _, err := sddaemon.SdNotify(false, state); err != nil {
		log.Warn("systemd notify failed", "state", state, "err", err)
	}
}
