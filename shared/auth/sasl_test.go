package auth

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestParsePlain(t *testing.T) {
	long := strings.Repeat("a", maxIdentity-len("@example.com")+1) + "@example.com"
	for _, tc := range []struct {
		name, msg  string
		user, pass string
		err        error
	}{
		{"no authzid", "\x00a@example.com\x00pw", "a@example.com", "pw", nil},
		{"authzid the login", "a@example.com\x00a@example.com\x00pw", "a@example.com", "pw", nil},
		{"password with spaces and UTF-8", "\x00a@example.com\x00pass wörd", "a@example.com", "pass wörd", nil},
		{"authzid another user", "b@example.com\x00a@example.com\x00pw", "a@example.com", "", ErrAuthzDenied},
		{"authzid another spelling", "A@example.com\x00a@example.com\x00pw", "a@example.com", "", ErrAuthzDenied},
		{"empty", "", "", "", ErrMalformed},
		{"no NUL", "a@example.com", "", "", ErrMalformed},
		{"one NUL", "\x00a@example.com", "", "", ErrMalformed},
		{"NUL in the password", "\x00a@example.com\x00p\x00w", "", "", ErrMalformed},
		{"NUL at the end", "\x00a@example.com\x00pw\x00", "", "", ErrMalformed},
		{"only NULs", "\x00\x00", "", "", ErrMalformed},
		{"empty login", "\x00\x00pw", "", "", ErrMalformed},
		{"empty password", "\x00a@example.com\x00", "", "", ErrMalformed},
		{"login too long", "\x00" + long + "\x00pw", "", "", ErrMalformed},
		{"authzid too long", long + "\x00a@example.com\x00pw", "", "", ErrMalformed},
		{"password too long", "\x00a@example.com\x00" + strings.Repeat("p", maxPassword+1), "", "", ErrMalformed},
		{"longest password", "\x00a@example.com\x00" + strings.Repeat("p", maxPassword), "a@example.com", strings.Repeat("p", maxPassword), nil},
	} {
		user, pass, err := ParsePlain([]byte(tc.msg))
		if !errors.Is(err, tc.err) || user != tc.user || pass != tc.pass {
			t.Errorf("%s: got %q %q %v, want %q %q %v", tc.name, user, pass, err, tc.user, tc.pass, tc.err)
		}
	}
}

// saslRun runs an exchange of mech over the given responses (nil: none
// given) with a login that records what it was given, and returns the
// challenges, the credentials login saw, and the error.
func saslRun(t *testing.T, mech string, resps ...[]byte) (challenges, got []string, err error) {
	t.Helper()
	l := Login{Auth: &Authenticator{Log: slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))}, Service: ServiceSMTP, IP: "192.0.2.1"}
	srv, err := l.SASL(mech, func(user, pass string) error {
		got = []string{user, pass}
		if pass != "right" {
			return ErrAuthFailed
		}
		return nil
	}, nil)
	if err != nil {
		return nil, nil, err
	}
	for i, r := range resps {
		c, done, err := srv.Next(r)
		if done || err != nil {
			if i != len(resps)-1 {
				t.Fatalf("%s ended after response %d of %d: %v", mech, i+1, len(resps), err)
			}
			if _, _, again := srv.Next(r); again == nil {
				t.Fatalf("%s took a response after its end", mech)
			}
			return challenges, got, err
		}
		challenges = append(challenges, string(c))
	}
	t.Fatalf("%s did not end after %d responses", mech, len(resps))
	return
}

func TestSASL(t *testing.T) {
	for _, tc := range []struct {
		name       string
		mech       string
		resps      [][]byte
		challenges string
		err        error
		got        string // user/pass login saw
	}{
		{"plain initial", "PLAIN", [][]byte{[]byte("\x00a@x.test\x00right")}, "", nil, "a@x.test/right"},
		{"plain lower case", "plain", [][]byte{[]byte("\x00a@x.test\x00right")}, "", nil, "a@x.test/right"},
		{"plain continued", "PLAIN", [][]byte{nil, []byte("\x00a@x.test\x00right")}, "", nil, "a@x.test/right"},
		{"plain wrong password", "PLAIN", [][]byte{[]byte("\x00a@x.test\x00wrong")}, "", ErrAuthFailed, "a@x.test/wrong"},
		{"plain authzid", "PLAIN", [][]byte{[]byte("b@x.test\x00a@x.test\x00right")}, "", ErrAuthzDenied, ""},
		{"plain empty response", "PLAIN", [][]byte{{}}, "", ErrMalformed, ""},
		{"plain garbage", "PLAIN", [][]byte{[]byte("garbage")}, "", ErrMalformed, ""},
		{"login", "LOGIN", [][]byte{nil, []byte("a@x.test"), []byte("right")}, "Username:|Password:", nil, "a@x.test/right"},
		{"login initial", "LOGIN", [][]byte{[]byte("a@x.test"), []byte("right")}, "Password:", nil, "a@x.test/right"},
		{"login empty user", "LOGIN", [][]byte{{}}, "", ErrMalformed, ""},
		{"login NUL in user", "LOGIN", [][]byte{[]byte("a@x.test\x00b@x.test")}, "", ErrMalformed, ""},
		{"login NUL in password", "LOGIN", [][]byte{[]byte("a@x.test"), []byte("ri\x00ght")}, "Password:", ErrMalformed, ""},
		{"login user too long", "LOGIN", [][]byte{bytes.Repeat([]byte("a"), maxIdentity+1)}, "", ErrMalformed, ""},
		{"login password too long", "LOGIN", [][]byte{[]byte("a@x.test"), bytes.Repeat([]byte("p"), maxPassword+1)}, "Password:", ErrMalformed, ""},
	} {
		challenges, got, err := saslRun(t, tc.mech, tc.resps...)
		if !errors.Is(err, tc.err) || strings.Join(challenges, "|") != tc.challenges || strings.Join(got, "/") != tc.got {
			t.Errorf("%s: challenges %q, err %v, login saw %q; want %q, %v, %q",
				tc.name, challenges, err, got, tc.challenges, tc.err, tc.got)
		}
	}
	if _, _, err := saslRun(t, "CRAM-MD5"); !errors.Is(err, ErrUnknownMechanism) {
		t.Errorf("CRAM-MD5: %v", err)
	}
}

// TestSASLAuthzLogged: an authorization identity of someone else is
// logged as a refused login (no password was checked: not a line
// fail2ban matches) and the reply function maps it.
func TestSASLAuthzLogged(t *testing.T) {
	var logs bytes.Buffer
	l := Login{Auth: &Authenticator{Log: slog.New(slog.NewTextHandler(&logs, nil))}, Service: ServiceIMAP, IP: "192.0.2.9"}
	mapped := errors.New("mapped")
	srv, _ := l.SASL("PLAIN", func(string, string) error { t.Fatal("login called"); return nil },
		func(err error) error {
			if errors.Is(err, ErrAuthzDenied) {
				return mapped
			}
			return err
		})
	if _, _, err := srv.Next([]byte("b@x.test\x00a@x.test\x00pw")); err != mapped {
		t.Fatalf("err = %v, want the mapped error", err)
	}
	want := `msg="auth refused" proto=imap ip=192.0.2.9 user=a@x.test reason="authorization identity"`
	if !strings.Contains(logs.String(), want) || strings.Contains(logs.String(), MsgFailed) {
		t.Fatalf("log:\n%s\nwant %s", logs.String(), want)
	}
}

// FuzzSASLPlain: PLAIN never authenticates as anyone but the login,
// never hands login a NUL or an over-long value, and never panics.
func FuzzSASLPlain(f *testing.F) {
	f.Add([]byte("\x00alice@example.com\x00pw"))
	f.Add([]byte("bob@example.com\x00alice@example.com\x00pw"))
	f.Add([]byte("alice@example.com\x00alice@example.com\x00pw"))
	f.Add([]byte("\x00\x00"))
	f.Add([]byte("no nul"))
	f.Add([]byte{})
	l := Login{Auth: &Authenticator{Log: slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))}, Service: ServiceSMTP}
	f.Fuzz(func(t *testing.T, resp []byte) {
		var user, pass string
		called := false
		srv, _ := l.SASL("PLAIN", func(u, p string) error { user, pass, called = u, p, true; return nil }, nil)
		_, done, err := srv.Next(resp)
		if !done {
			t.Fatal("PLAIN with a response must finish")
		}
		if called != (err == nil) {
			t.Fatalf("login called %v, err %v", called, err)
		}
		if err == nil {
			parts := bytes.Split(resp, []byte{0})
			if len(parts) != 3 || (len(parts[0]) > 0 && string(parts[0]) != user) || string(parts[1]) != user || string(parts[2]) != pass {
				t.Fatalf("accepted %q as %q/%q", resp, user, pass)
			}
			if user == "" || pass == "" || len(user) > maxIdentity || len(pass) > maxPassword {
				t.Fatalf("login given %q/%q", user, pass)
			}
		}
		if _, _, err := srv.Next(resp); err == nil {
			t.Fatal("second response accepted")
		}
	})
}

// FuzzSASLLogin: LOGIN hands login exactly the two responses, or refuses
// them, and never panics.
func FuzzSASLLogin(f *testing.F) {
	f.Add([]byte("alice@example.com"), []byte("pw"))
	f.Add([]byte{}, []byte("pw"))
	f.Add([]byte("a\x00b"), []byte{0})
	l := Login{Auth: &Authenticator{Log: slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))}, Service: ServiceSMTP}
	f.Fuzz(func(t *testing.T, u, p []byte) {
		if u == nil { // nil is no initial response
			u = []byte{}
		}
		var user, pass string
		srv, _ := l.SASL("LOGIN", func(a, b string) error { user, pass = a, b; return nil }, nil)
		_, done, err := srv.Next(u)
		if !done {
			_, done, err = srv.Next(p)
		}
		if !done {
			t.Fatal("LOGIN did not end after two responses")
		}
		if err == nil && (user != string(u) || pass != string(p) || bytes.IndexByte(u, 0) >= 0 || bytes.IndexByte(p, 0) >= 0) {
			t.Fatalf("accepted %q/%q as %q/%q", u, p, user, pass)
		}
	})
}
