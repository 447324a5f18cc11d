package shared

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailsuite/store"
)

func authFixture(t *testing.T) (*Authenticator, *bytes.Buffer, *time.Time) {
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
