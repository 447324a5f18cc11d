package daemon

import (
	"log/slog"
	"os"
)

// Exit codes shared by the daemons and mailctl.
const (
	// ExitConfig means the daemon could not start because of its
	// configuration or environment (bad config, unreadable certificate,
	// port in use, store cannot open). The systemd units set
	// RestartPreventExitStatus=2 so systemd does not restart in a loop on
	// a problem only the operator can fix.
	ExitConfig = 2
)

// Fatal logs one error line and exits with ExitConfig. Use it only for
// start-up failures; a running daemon shuts down through Run instead.
func Fatal(log *slog.Logger, msg string, err error) {
	log.Error(msg, "err", err)
	os.Exit(ExitConfig)
}
