package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"mailsuite/shared/auth"
	"mailsuite/shared/daemon"
	"mailsuite/store"
)

// maxPasswordRequest bounds the body of a password change: three form
// fields, none near this long.
const maxPasswordRequest = 8 << 10

// passwordAPI is the endpoint of Roundcube's password plugin (its httpapi
// driver, imapd.password_api): a form POST of user, curpass and newpass.
// It lives in imapd so that the web server's user needs no write access
// to the store, and a change takes the paths the rest of the suite takes:
// the current password is checked as an IMAP LOGIN checks it (throttle,
// failure pause, "auth failed" line), the new one against the policy
// mailctl applies (auth.CheckNewPassword), and the store's
// SetUserPassword drops the grants and known devices the old password
// earned. Answers: 200 "ok"; 400 with the policy's words; 403 for a wrong
// current password; 429 when throttled; 503 when the store failed. No
// password is ever logged.
type passwordAPI struct {
	auth   *auth.Authenticator
	st     *store.Store
	log    *slog.Logger
	minLen int // auth.min_password_length
	// failureDelay is the pause before a refused check is answered, as
	// after a failed IMAP LOGIN; zero in tests.
	failureDelay time.Duration
}

func (p *passwordAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST a form with user, curpass and newpass", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxPasswordRequest)
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "want a form with user, curpass and newpass", http.StatusBadRequest)
		return
	}
	user, cur, next := r.PostForm.Get("user"), r.PostForm.Get("curpass"), r.PostForm.Get("newpass")
	if user == "" || cur == "" || next == "" {
		http.Error(w, "want a form with user, curpass and newpass", http.StatusBadRequest)
		return
	}
	ip := remoteIP(r.RemoteAddr)
	ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
	defer cancel()
	code, msg := p.change(ctx, ip, user, cur, next)
	if code != http.StatusOK {
		http.Error(w, msg, code)
		return
	}
	fmt.Fprintln(w, "ok")
}

// change checks cur as user's password from ip and sets next; it returns
// the HTTP status and, for a refusal, the words for the user.
func (p *passwordAPI) change(ctx context.Context, ip, user, cur, next string) (int, string) {
	cred, err := p.auth.Check(ctx, auth.ServiceIMAP, ip, user, cur)
	switch {
	case errors.Is(err, auth.ErrAuthFailed):
		p.pause()
		return http.StatusForbidden, "the current password is wrong"
	case errors.Is(err, auth.ErrThrottled):
		p.pause()
		return http.StatusTooManyRequests, auth.ErrThrottled.Error()
	case err != nil:
		p.log.Error("password change", "ip", ip, "user", user, "err", err)
		return http.StatusServiceUnavailable, "temporary failure, try again later"
	}
	if err := auth.CheckNewPassword(next, cred.Name, p.minLen); err != nil {
		return http.StatusBadRequest, err.Error()
	}
	hash, err := auth.HashPassword(next)
	if err == nil {
		err = p.st.SetUserPassword(ctx, cred.Name, hash)
	}
	if err != nil {
		p.log.Error("password change", "ip", ip, "user", cred.Name, "err", err)
		return http.StatusServiceUnavailable, "temporary failure, try again later"
	}
	p.log.Info("password changed", "ip", ip, "user", cred.Name)
	return http.StatusOK, ""
}

func (p *passwordAPI) pause() {
	if p.failureDelay > 0 {
		time.Sleep(p.failureDelay)
	}
}

// remoteIP is the address of an HTTP request's peer, as daemon.PeerIP
// gives it for a connection.
func remoteIP(remoteAddr string) string {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	return ap.Addr().Unmap().String()
}

// servePasswordAPI serves the endpoint on addr (imapd.password_api) until
// the returned server is shut down. A port in use fails the start like
// any listener's.
func (s *server) servePasswordAPI(addr string, minLen int) *http.Server {
	lns, err := daemon.Listen([]daemon.ListenerSpec{{Addr: addr, Name: "imapd.password_api"}})
	if err != nil {
		daemon.Fatal(s.log, "cannot listen", err)
	}
	hs := s.passwordServer(minLen)
	go func() {
		if err := hs.Serve(lns[0]); !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serve", "addr", addr, "err", err)
		}
	}()
	s.log.Info("serving password changes", "addr", lns[0].Addr().String(), "role", "imapd.password_api")
	return hs
}

// passwordServer is the HTTP server of the endpoint, with timeouts that
// leave room for a login check waiting on the throttle (up to a minute).
func (s *server) passwordServer(minLen int) *http.Server {
	return &http.Server{
		Handler: &passwordAPI{
			auth: s.auth, st: s.st, log: s.log, minLen: minLen, failureDelay: s.failureDelay,
		},
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    8 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return s.ctx },
	}
}
