package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The lease. Two smtpd processes on one store must never send the same
// message twice, so only the holder of the "queue-runner" row in the
// leases table delivers. The holder renews it every leaseTTL/3; a holder
// that dies stops renewing and the lease frees after leaseTTL. A holder on
// this host whose process is gone (a SIGKILLed smtpd being restarted) is
// taken over at once, so a restart does not wait for the expiry. A runner
// that cannot renew in time stops delivering before its lease can expire.
//
// One lease rather than a claim per recipient keeps the scan a plain
// index read and makes recovery after a crash immediate: whatever was in
// flight is simply pending again.

// defaultHolder names this process: host, pid and a random part, so two
// runners in one process (tests) differ too.
func defaultHolder() string {
	host, _ := os.Hostname()
	host = strings.ReplaceAll(host, ":", "_")
	b := make([]byte, 4)
	rand.Read(b)
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b))
}

// holderDead reports whether holder names a process on this host that no
// longer exists.
func holderDead(holder string) bool {
	parts := strings.Split(holder, ":")
	if len(parts) != 3 {
		return false
	}
	host, _ := os.Hostname()
	pid, err := strconv.Atoi(parts[1])
	if parts[0] != strings.ReplaceAll(host, ":", "_") || err != nil || pid <= 0 || pid == os.Getpid() {
		return false
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// lead takes the lease if it can. On success it returns a context that
// ends when ctx does or the lease is lost, and stop, which ends the
// renewing and must be called before the lease is released.
func (r *Runner) lead(ctx context.Context) (context.Context, func(), bool) {
	ok, holder, err := r.st.AcquireLease(ctx, leaseName, r.holder, "", leaseTTL, time.Now())
	if err == nil && !ok && holderDead(holder) {
		r.log.Info("taking over the lease of a dead runner", "holder", holder)
		ok, _, err = r.st.AcquireLease(ctx, leaseName, r.holder, holder, leaseTTL, time.Now())
	}
	if err != nil {
		if ctx.Err() == nil {
			r.log.Error("queue lease", "err", err)
		}
		return nil, nil, false
	}
	if !ok {
		return nil, nil, false
	}
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.keepLease(lctx, cancel)
	}()
	stop := func() {
		cancel()
		<-done
	}
	return lctx, stop, true
}

// keepLease renews the lease until ctx ends, and cancels ctx when the
// lease is lost or could not be renewed for most of its lifetime.
func (r *Runner) keepLease(ctx context.Context, cancel context.CancelFunc) {
	renewed := time.Now()
	t := time.NewTicker(leaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ok, holder, err := r.st.AcquireLease(ctx, leaseName, r.holder, "", leaseTTL, time.Now())
		switch {
		case err == nil && ok:
			renewed = time.Now()
		case err == nil:
			r.log.Error("queue lease lost: stopping deliveries", "holder", holder)
			cancel()
			return
		case time.Since(renewed) > leaseTTL*2/3:
			r.log.Error("queue lease not renewed: stopping deliveries", "err", err)
			cancel()
			return
		}
	}
}

// releaseLease lets another runner start at once after a clean shutdown.
func (r *Runner) releaseLease() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.st.ReleaseLease(ctx, leaseName, r.holder); err != nil {
		r.log.Warn("queue lease release", "err", err)
	}
}
