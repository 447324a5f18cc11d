package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// passwordEndpoint serves the env's password endpoint on a loopback port
// and returns its URL.
func (e *testEnv) passwordEndpoint() string {
	e.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	hs := e.srv.passwordServer(10)
	go hs.Serve(ln)
	e.t.Cleanup(func() { hs.Close() })
	return "http://" + ln.Addr().String() + "/"
}

// changePassword posts a change as Roundcube's httpapi driver does and
// returns the status and body.
func changePassword(t *testing.T, endpoint, user, cur, next string) (int, string) {
	t.Helper()
	form := url.Values{"user": {user}, "curpass": {cur}, "newpass": {next}}
	return post(t, endpoint, "application/x-www-form-urlencoded", form.Encode())
}

func post(t *testing.T, endpoint, ctype, body string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Minute}
	resp, err := c.Post(endpoint, ctype, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// loginReply is the tagged reply to LOGIN with password on a new
// connection.
func (e *testEnv) loginReply(password string) string {
	tc := e.dial()
	_, r := tc.cmd("LOGIN %s %q", testUser, password)
	return r
}

// TestPasswordAPIChangesPassword: a change with the right current
// password sets the new one (IMAP LOGIN refuses the old one and takes the
// new one) and revokes the grants the old password earned.
func TestPasswordAPIChangesPassword(t *testing.T) {
	e := newEnv(t, withPlaintext)
	endpoint := e.passwordEndpoint()
	if r := e.loginReply(testPass); !strings.HasPrefix(r, "OK") {
		t.Fatalf("login before the change: %s", r)
	}
	ctx := context.Background()
	if g, err := e.st.LiveGrants(ctx, "127.0.0.1"); err != nil || len(g) != 1 {
		t.Fatalf("grants after login: %v, %v; want one", g, err)
	}
	const newPass = "a much better secret"
	if code, body := changePassword(t, endpoint, testUser, testPass, newPass); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("change: %d %q, want 200 ok", code, body)
	}
	if g, err := e.st.LiveGrants(ctx, "127.0.0.1"); err != nil || len(g) != 0 {
		t.Errorf("grants after the change: %v, %v; want none", g, err)
	}
	if r := e.loginReply(testPass); !strings.HasPrefix(r, "NO") {
		t.Errorf("LOGIN with the old password: %s, want NO", r)
	}
	if r := e.loginReply(newPass); !strings.HasPrefix(r, "OK") {
		t.Errorf("LOGIN with the new password: %s, want OK", r)
	}
	logs := e.log.String()
	if !strings.Contains(logs, `msg="password changed"`) || !strings.Contains(logs, "user="+testUser) {
		t.Errorf("no password changed line:\n%s", logs)
	}
	if strings.Contains(logs, newPass) || strings.Contains(logs, testPass) {
		t.Errorf("a password is in the log:\n%s", logs)
	}
}

// TestPasswordAPIPolicy: a new password the policy refuses is answered
// 400 with the policy's words, and the old password stays.
func TestPasswordAPIPolicy(t *testing.T) {
	e := newEnv(t, withPlaintext)
	endpoint := e.passwordEndpoint()
	for _, c := range []struct{ next, want string }{
		{"short", "5 characters, at least 10 needed (auth.min_password_length)"},
		{"ALICE@example.com", "must not be the address or its local part"},
		{"line\nbreak and more", "must not contain NUL, CR or LF"},
	} {
		code, body := changePassword(t, endpoint, testUser, testPass, c.next)
		if code != http.StatusBadRequest || !strings.Contains(body, c.want) {
			t.Errorf("new password %q: %d %q, want 400 with %q", c.next, code, body, c.want)
		}
	}
	if r := e.loginReply(testPass); !strings.HasPrefix(r, "OK") {
		t.Errorf("LOGIN with the unchanged password: %s", r)
	}
}

// TestPasswordAPIWrongCurrentThrottled: a wrong current password is
// refused and logged as a failed login; repeated, the account is
// throttled as for IMAP LOGIN, even for the right password, and nothing
// changes.
func TestPasswordAPIWrongCurrentThrottled(t *testing.T) {
	e := newEnv(t, withPlaintext)
	endpoint := e.passwordEndpoint()
	const newPass = "a much better secret"
	code, body := changePassword(t, endpoint, testUser, "wrong password", newPass)
	if code != http.StatusForbidden || !strings.Contains(body, "current password is wrong") {
		t.Fatalf("wrong current password: %d %q, want 403", code, body)
	}
	if !strings.Contains(e.log.String(), `msg="auth failed"`) {
		t.Errorf("no auth failed line:\n%s", e.log.String())
	}
	throttled := false
	for i := 0; i < 20 && !throttled; i++ {
		code, _ = changePassword(t, endpoint, testUser, "wrong password", newPass)
		throttled = code == http.StatusTooManyRequests
		if !throttled && code != http.StatusForbidden {
			t.Fatalf("attempt %d: %d", i, code)
		}
	}
	if !throttled {
		t.Fatal("20 wrong passwords, never throttled")
	}
	if code, _ := changePassword(t, endpoint, testUser, testPass, newPass); code != http.StatusTooManyRequests {
		t.Errorf("right password while throttled: %d, want 429", code)
	}
	pw, err := e.st.Credential(context.Background(), testUser)
	if err != nil {
		t.Fatal(err)
	}
	if pw.Hash != testHash() {
		t.Error("the password changed")
	}
}

// TestPasswordAPIBadRequests: other methods, missing fields and an
// oversized body are refused with their status, and the endpoint serves
// the next request.
func TestPasswordAPIBadRequests(t *testing.T) {
	e := newEnv(t, withPlaintext)
	endpoint := e.passwordEndpoint()
	resp, err := http.Get(endpoint + "?user=" + url.QueryEscape(testUser))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d, want 405", resp.StatusCode)
	}
	form := "application/x-www-form-urlencoded"
	for _, c := range []struct {
		ctype, body string
		want        int
	}{
		{form, "user=" + url.QueryEscape(testUser) + "&curpass=x", http.StatusBadRequest},
		{form, "user=%zz", http.StatusBadRequest},
		{form, "user=a&curpass=b&newpass=" + strings.Repeat("x", 1<<20), http.StatusRequestEntityTooLarge},
		{"text/plain", "user=a&curpass=b&newpass=c", http.StatusBadRequest},
	} {
		if code, body := post(t, endpoint, c.ctype, c.body); code != c.want {
			t.Errorf("%s %.40q: %d %q, want %d", c.ctype, c.body, code, body, c.want)
		}
	}
	if code, body := changePassword(t, endpoint, testUser, testPass, "a much better secret"); code != http.StatusOK {
		t.Errorf("change after bad requests: %d %q", code, body)
	}
}
