package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"mailsuite/store"
)

func authFixture(t *testing.T) (*Authenticator, *bytes.Buffer, *time.Time) {
	t.Helper()
	return authFixtureTB(t)
}

func authFixtureTB(t testing.TB) (*Authenticator, *bytes.Buffer, *time.Time) {
	t.Helper()
	now := time.Unix(1_800_000_000, 0)
	st, err := store.Open(filepath.Join(t.TempDir(), "mail.db"), store.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	h, _ := HashPassword("secret")
	st.AddDomain(ctx, "example.com")
	st.AddUser(ctx, "a@example.com", h, true)
	st.SetDomainCredential(ctx, "example.com", h)
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	return &Authenticator{Store: st, Log: log}, &buf, &now
}

func TestAuthCheck(t *testing.T) {
	a, logs, _ := authFixture(t)
	ctx := context.Background()
	tests := []struct {
		svc         Service
		login, pass string
		want        error
		kind        store.CredKind
	}{
		{ServicePOP3, "a@example.com", "secret", nil, store.CredUser},
		{ServiceIMAP, "A@EXAMPLE.COM", "secret", nil, store.CredUser},
		{ServiceSMTP, "a@example.com", "secret", nil, store.CredUser},
		{ServiceSMTP, "example.com", "secret", nil, store.CredDomain},
		{ServicePOP3, "example.com", "secret", ErrAuthFailed, 0}, // domain credential cannot read mail
		{ServiceIMAP, "example.com", "secret", ErrAuthFailed, 0},
		{ServicePOP3, "a@example.com", "wrong", ErrAuthFailed, 0},
		{ServicePOP3, "nobody@example.com", "secret", ErrAuthFailed, 0},
		{ServiceSMTP, "other.com", "secret", ErrAuthFailed, 0},
	}
	for i, tc := range tests {
		ip := "192.0.2." + string(rune('1'+i)) // separate IPs: stay under the throttle
		cred, err := a.Check(ctx, tc.svc, ip, tc.login, tc.pass)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s %s/%s: err = %v, want %v", tc.svc, tc.login, tc.pass, err, tc.want)
			continue
		}
		if err == nil && cred.Kind != tc.kind {
			t.Errorf("%s %s: kind = %v, want %v", tc.svc, tc.login, cred.Kind, tc.kind)
		}
	}
	if strings.Contains(logs.String(), "secret") || strings.Contains(logs.String(), "wrong") {
		t.Errorf("a password reached the log:\n%s", logs)
	}
}

func TestAuthThrottle(t *testing.T) {
	a, _, now := authFixture(t)
	ctx := context.Background()
	for i := 0; i < MaxFailuresPerIP; i++ {
		// Different accounts, so only the per-IP limit is reached.
		a.Check(ctx, ServicePOP3, "10.0.0.1", "u"+string(rune('a'+i))+"@example.com", "x")
	}
	if _, err := a.Check(ctx, ServicePOP3, "10.0.0.1", "a@example.com", "secret"); !errors.Is(err, ErrThrottled) {
		t.Fatalf("after %d failures: err = %v, want ErrThrottled", MaxFailuresPerIP, err)
	}
	// Another IP is not affected by this IP's failures.
	if _, err := a.Check(ctx, ServicePOP3, "10.0.0.2", "a@example.com", "secret"); err != nil {
		t.Fatalf("other IP: %v", err)
	}
	// The count ages out.
	*now = now.Add(ThrottleWindow + time.Second)
	if _, err := a.Check(ctx, ServicePOP3, "10.0.0.1", "a@example.com", "secret"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestAuthThrottlePerAccount(t *testing.T) {
	a, _, _ := authFixture(t)
	ctx := context.Background()
	for i := 0; i < MaxFailuresPerAccount; i++ {
		a.Check(ctx, ServiceIMAP, "10.1.0."+string(rune('1'+i)), "a@example.com", "x")
	}
	if _, err := a.Check(ctx, ServiceIMAP, "10.9.9.9", "a@example.com", "secret"); !errors.Is(err, ErrThrottled) {
		t.Fatalf("err = %v, want ErrThrottled after %d account failures", err, MaxFailuresPerAccount)
	}
}

func TestAuthLoginCache(t *testing.T) {
	a, _, now := authFixture(t)
	ctx := context.Background()
	cred, err := a.Check(ctx, ServiceIMAP, "10.0.0.1", "a@example.com", "secret")
	if err != nil {
		t.Fatal(err)
	}
	if !a.cache.ok(cred.Name, cred.Hash, "secret", *now) {
		t.Fatal("a successful login was not remembered")
	}
	if a.cache.ok(cred.Name, cred.Hash, "Secret", *now) {
		t.Fatal("the cache accepted another password")
	}
	// A cached login never lets a wrong password through.
	if _, err := a.Check(ctx, ServiceIMAP, "10.0.0.1", "a@example.com", "wrong"); !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("wrong password after a cached login: %v", err)
	}
	// A password change invalidates the entry: the old password fails.
	h, _ := HashPassword("new")
	if err := a.Store.SetUserPassword(ctx, "a@example.com", h); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Check(ctx, ServiceIMAP, "10.0.0.2", "a@example.com", "secret"); !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("old password after a change: %v", err)
	}
	if _, err := a.Check(ctx, ServiceIMAP, "10.0.0.2", "a@example.com", "new"); err != nil {
		t.Fatalf("new password: %v", err)
	}
	// Entries expire.
	if a.cache.ok(cred.Name, h, "new", now.Add(LoginCacheTTL+time.Second)) {
		t.Fatal("an entry outlived LoginCacheTTL")
	}
	// A removed user is not served from the cache.
	if err := a.Store.RemoveUser(ctx, "a@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Check(ctx, ServiceIMAP, "10.0.0.3", "a@example.com", "new"); !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("removed user: %v", err)
	}
}

// TestAuthParallelGuesses: 100 attempts at once for one account from one
// IP, all wrong. At most the account's limit
// reach a password check; the others are refused unchecked, logged as
// "auth throttled".
func TestAuthParallelGuesses(t *testing.T) {
	a, logs, _ := authFixture(t)
	var mu sync.Mutex
	a.Log = slog.New(slog.NewTextHandler(&lockedWriter{w: logs, mu: &mu}, nil))
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pass := fmt.Sprintf("guess%d", i)
			a.Check(context.Background(), ServiceIMAP, "192.0.2.1", "a@example.com", pass)
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	failed := strings.Count(logs.String(), `msg="auth failed"`)
	ok := strings.Count(logs.String(), `msg="auth ok"`)
	throttled := strings.Count(logs.String(), `msg="auth throttled"`)
	if failed+ok > MaxFailuresPerAccount || failed+ok+throttled != 100 {
		t.Fatalf("%d failed + %d ok checked, %d throttled; want at most %d checked of 100",
			failed, ok, throttled, MaxFailuresPerAccount)
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestAuthOwnerNotLockedOut: guesses from other addresses lock the
// account's limit, but not against the address its owner logged in from.
func TestAuthOwnerNotLockedOut(t *testing.T) {
	a, logs, _ := authFixture(t)
	ctx := context.Background()
	if _, err := a.Check(ctx, ServicePOP3, "192.0.2.1", "a@example.com", "secret"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < MaxFailuresPerAccount; i++ {
		a.Check(ctx, ServiceIMAP, fmt.Sprintf("203.0.113.%d", i+1), "a@example.com", "x")
	}
	logs.Reset()
	if _, err := a.Check(ctx, ServiceIMAP, "198.51.100.1", "A@example.com.", "secret"); !errors.Is(err, ErrThrottled) {
		t.Fatalf("a new address: %v, want ErrThrottled", err)
	}
	if !strings.Contains(logs.String(), `msg="auth throttled"`) || strings.Contains(logs.String(), `msg="auth failed"`) {
		t.Fatalf("a throttled login logged:\n%s", logs)
	}
	for _, svc := range []Service{ServicePOP3, ServiceIMAP, ServiceSMTP} {
		if _, err := a.Check(ctx, svc, "192.0.2.1", "a@example.com", "secret"); err != nil {
			t.Fatalf("owner's %s login from her known address: %v", svc, err)
		}
	}
}

// TestAuthRecheck: a credential stands until its password changes or
// the user is removed; a changed SMTP authority shows in the result.
func TestAuthRecheck(t *testing.T) {
	a, _, _ := authFixture(t)
	ctx := context.Background()
	cred, err := a.Check(ctx, ServiceSMTP, "192.0.2.1", "a@example.com", "secret")
	if err != nil {
		t.Fatal(err)
	}
	if now, err := a.Recheck(ctx, cred); err != nil || !now.SMTP {
		t.Fatalf("unchanged: %+v %v", now, err)
	}
	a.Store.SetUserSMTP(ctx, "a@example.com", false)
	if now, err := a.Recheck(ctx, cred); err != nil || now.SMTP {
		t.Fatalf("smtp off: %+v %v", now, err)
	}
	h, _ := HashPassword("other")
	a.Store.SetUserPassword(ctx, "a@example.com", h)
	if _, err := a.Recheck(ctx, cred); !errors.Is(err, ErrRevoked) {
		t.Fatalf("password changed: %v", err)
	}
	a.Store.RemoveUser(ctx, "a@example.com")
	a.Store.AddUser(ctx, "a@example.com", cred.Hash, true)
	if _, err := a.Check(ctx, ServiceSMTP, "192.0.2.1", "a@example.com", "secret"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Recheck(ctx, cred); !errors.Is(err, ErrRevoked) {
		t.Fatalf("re-created user with the old hash: %v", err)
	}
}

func TestCheckNewPassword(t *testing.T) {
	for _, tc := range []struct {
		pw, login string
		ok        bool
	}{
		{"correct horse", "a@example.com", true},
		{"ünïcödé pw", "a@example.com", true}, // 10 characters, more bytes
		{"too short", "a@example.com", false},
		{"line\nbreak!", "a@example.com", false},
		{"carriage\rret", "a@example.com", false},
		{"nul\x00inside!", "a@example.com", false},
		{"Alexandrina", "alexandrina@example.com", false},
		{"alexandrina@EXAMPLE.com", "alexandrina@example.com", false},
		{"example.com", "example.com", false},
	} {
		if err := CheckNewPassword(tc.pw, tc.login, 10); (err == nil) != tc.ok {
			t.Errorf("CheckNewPassword(%q, %q) = %v, want ok %v", tc.pw, tc.login, err, tc.ok)
		}
	}
}

// TestShortStoredPasswordLogsIn: the password rules apply to new
// passwords only; a store from before keeps working.
func TestShortStoredPasswordLogsIn(t *testing.T) {
	a, _, _ := authFixture(t) // a@example.com's password is "secret"
	if _, err := a.Check(context.Background(), ServiceIMAP, "192.0.2.1", "a@example.com", "secret"); err != nil {
		t.Fatal(err)
	}
}

// TestAuthParallelRightPassword: a client opening more connections at
// once than the account's limit, all with the right password, from an
// address never seen before, gets every one of them in: attempts in
// progress make the others wait, not fail.
func TestAuthParallelRightPassword(t *testing.T) {
	a, _, _ := authFixture(t)
	var wg sync.WaitGroup
	errs := make([]error, 2*MaxFailuresPerAccount)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = a.Check(context.Background(), ServiceIMAP, "192.0.2.1", "a@example.com", "secret")
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("login %d: %v", i, err)
		}
	}
}
