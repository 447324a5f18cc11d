// Command mailctl is the operator's tool over the mailsuite store:
// domains, users, aliases, domain credentials, relay grants, the outbound
// queue, DKIM keys, the DNS records to publish, and backups. Run "mailctl
// help" for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"mailsuite/shared/config"
	"mailsuite/shared/daemon"
	"mailsuite/store"
)

// Exit codes: 0 success, 1 the command failed, 2 the command line is wrong.
const (
	exitFailure = 1
	exitUsage   = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one mailctl invocation and returns its exit code. Every
// error is reported as one line on stderr, so scripts and the journal see
// one record per failure.
func run(ctx context.Context, argv []string, stdin io.Reader, stdout, stderr io.Writer) int {
	err := dispatch(ctx, argv, stdin, stdout, stderr)
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "mailctl: %s\n", oneLine(err.Error()))
	var ue *usageError
	var ne *noVerdictError
	if errors.As(err, &ue) || errors.As(err, &ne) {
		return exitUsage
	}
	return exitFailure
}

// dispatch parses argv, finds the command, checks its arguments, and only
// then loads the configuration and opens the store, so a typo never
// touches (or creates) a store file.
func dispatch(ctx context.Context, argv []string, stdin io.Reader, stdout, stderr io.Writer) error {
	inv, err := parseArgs(argv)
	if errors.Is(err, errHelp) {
		return writeUsage(stdout)
	}
	if err != nil {
		return err
	}
	if len(inv.args) == 0 {
		return usagef("no command given (run \"mailctl help\")")
	}
	if inv.args[0] == "help" {
		return writeUsage(stdout)
	}
	cmd, args, err := lookup(inv.args)
	if err != nil {
		return err
	}
	if err := cmd.check(inv, args); err != nil {
		return err
	}
	return cmd.verdictErr(open(ctx, cmd, inv, args, stdin, stdout, stderr))
}

// open loads the configuration, opens the store and runs cmd.
func open(ctx context.Context, cmd *command, inv *invocation, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if err := daemon.CheckCgo(); err != nil {
		return err
	}
	cfg, err := config.Load(inv.configPath)
	if err != nil {
		return err
	}
	driver, source, err := cfg.StoreSource()
	if err != nil {
		return err
	}
	fresh := driver == store.DriverSQLite && !exists(source)
	st, err := store.OpenDriver(driver, source, store.WithLimits(cfg.Quota.Limits()))
	if err != nil {
		return err
	}
	defer st.Close()
	if fresh {
		if err := giveToDataDirOwner(cfg.DBPath()); err != nil {
			return err
		}
	}
	e := &env{inv: inv, cfg: cfg, st: st, stdin: stdin, stdout: stdout, stderr: stderr}
	if err := cmd.run(ctx, e, args); err != nil {
		return err
	}
	return nil
}

// env is what a command works with.
type env struct {
	inv    *invocation
	cfg    *config.Config
	st     *store.Store
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer // progress of long commands (import)
}

// oneLine folds a multi-line error (errors.Join, config errors) onto one
// line.
func oneLine(s string) string {
	s = strings.TrimRight(s, "\n")
	return strings.NewReplacer("\r\n", "; ", "\n", "; ", "\r", " ").Replace(s)
}
