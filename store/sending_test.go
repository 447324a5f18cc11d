package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// sendAs accepts a relayed message from account to rcpts, as smtpd does.
func sendAs(t *testing.T, s *Store, account string, rcpts ...string) {
	t.Helper()
	env := Envelope{From: account, Remote: rcpts,
		Sending: &Sending{Account: account, IP: "192.0.2.1", Subject: "hi", Rcpts: rcpts, Fresh: rcpts}}
	if err := s.Accept(context.Background(), env, []byte("Subject: hi\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
}

func usage(t *testing.T, s *Store, account string) SendUsage {
	t.Helper()
	st, err := s.SendingState(context.Background(), account)
	if err != nil {
		t.Fatal(err)
	}
	return st.Usage
}

func TestSendCountsAndWindows(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 30, 10, 59, 0, 0, time.UTC)}
	s := openTest(t, WithClock(c.now))
	u := seed(t, s)
	sendAs(t, s, u.Address, "x@remote.test", "y@remote.test")
	sendAs(t, s, u.Address, "x@remote.test")
	sendAs(t, s, "example.com", "z@remote.test")
	got := usage(t, s, u.Address)
	if got.Messages != 2 || got.Recipients != 3 || got.NewRecipients != 2 {
		t.Fatalf("usage %+v, want 2 messages, 3 recipients, 2 new", got)
	}
	if want := time.Date(2026, 11, 30, 11, 0, 0, 0, time.UTC); !got.HourEnd.Equal(want) {
		t.Errorf("hour ends %v, want %v", got.HourEnd, want)
	}
	if d := usage(t, s, "example.com"); d.Messages != 1 || d.NewRecipients != 1 {
		t.Errorf("domain credential usage %+v, want its own count", d)
	}
	c.t = c.t.Add(2 * time.Minute) // the next hour, same day
	got = usage(t, s, u.Address)
	if got.Messages != 0 || got.Recipients != 3 {
		t.Errorf("after the hour: %+v, want 0 messages and the day's 3 recipients", got)
	}
	if seen, err := s.SentBefore(context.Background(), u.Address, "y@remote.test"); err != nil || !seen {
		t.Errorf("SentBefore = %v, %v", seen, err)
	}
}

func TestLimitOverrides(t *testing.T) {
	s := openTest(t)
	u := seed(t, s)
	ctx := context.Background()
	n := func(v int64) *int64 { return &v }
	if err := s.SetDomainLimits(ctx, "example.com", LimitOverrides{MessagesPerHour: n(10), RecipientsPerDay: n(20)}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUserLimits(ctx, u.Address, LimitOverrides{MessagesPerHour: n(5), NewRecipientsPerDay: n(0)}); err != nil {
		t.Fatal(err)
	}
	defaults := SendLimits{MessagesPerHour: 500, RecipientsPerDay: 2000, NewRecipientsPerDay: 300}
	st, err := s.SendingState(ctx, u.Address)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := st.Limits(defaults), (SendLimits{5, 20, 0}); got != want {
		t.Errorf("user limits %+v, want %+v", got, want)
	}
	if err := s.SetUserLimits(ctx, u.Address, LimitOverrides{MessagesPerHour: n(-1)}); err != nil {
		t.Fatal(err)
	}
	st, _ = s.SendingState(ctx, u.Address)
	if got, want := st.Limits(defaults), (SendLimits{10, 20, 0}); got != want {
		t.Errorf("after default: %+v, want %+v", got, want)
	}
	dst, _ := s.SendingState(ctx, "example.com")
	if got, want := dst.Limits(defaults), (SendLimits{10, 20, 300}); got != want {
		t.Errorf("domain limits %+v, want %+v", got, want)
	}
	if err := s.SetUserLimits(ctx, "nobody@example.com", LimitOverrides{MessagesPerHour: n(1)}); err == nil {
		t.Error("limits of an unknown user were set")
	}
}

func TestSuspendOnceAndRestore(t *testing.T) {
	s := openTest(t)
	u := seed(t, s)
	ctx := context.Background()
	if err := s.Grant(ctx, "192.0.2.1", u.ID, time.Hour); err != nil {
		t.Fatal(err)
	}
	sendAs(t, s, u.Address, "x@remote.test")
	for i, want := range []bool{true, false} {
		did, err := s.SuspendUser(ctx, u.Address, "500 messages per hour")
		if err != nil || did != want {
			t.Fatalf("suspend #%d = %v, %v; want %v", i+1, did, err, want)
		}
	}
	st, _ := s.SendingState(ctx, u.Address)
	if st.Suspended != "500 messages per hour" || st.SuspendedAt.IsZero() {
		t.Errorf("state %+v, want the reason recorded", st)
	}
	if g, _ := s.LiveGrants(ctx, "192.0.2.1"); len(g) != 0 {
		t.Errorf("grants survive the suspension: %+v", g)
	}
	if err := s.SetUserSMTP(ctx, u.Address, true); err != nil {
		t.Fatal(err)
	}
	st, _ = s.SendingState(ctx, u.Address)
	if st.Suspended != "" || st.Usage.Messages != 0 {
		t.Errorf("after smtp on: %+v, want no suspension and no counts", st)
	}

	if err := s.SetDomainCredential(ctx, "example.com", "h"); err != nil {
		t.Fatal(err)
	}
	if did, err := s.SuspendDomainCredential(ctx, "example.com", "limit"); !did || err != nil {
		t.Fatalf("suspend domain = %v, %v", did, err)
	}
	if c, err := s.Credential(ctx, "example.com"); err != nil || c.SMTP {
		t.Errorf("suspended domain credential %+v, %v: want SMTP off", c, err)
	}
	if err := s.SetDomainCredential(ctx, "example.com", "h2"); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Credential(ctx, "example.com"); !c.SMTP {
		t.Error("a new password left the domain credential suspended")
	}
}

func TestBounceStorm(t *testing.T) {
	s := openTest(t)
	u := seed(t, s)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if err := s.Accept(ctx, Envelope{Local: []int64{u.ID}}, []byte("Subject: bounce\r\n\r\nx\r\n")); err != nil {
			t.Fatal(err)
		}
		got, err := s.BounceStorms(ctx, []int64{u.ID}, 3)
		if err != nil {
			t.Fatal(err)
		}
		if want := i == 2; (len(got) == 1) != want {
			t.Fatalf("after %d bounces: storms %v", i+1, got)
		}
	}
	if err := s.Accept(ctx, Envelope{From: "x@remote.test", Local: []int64{u.ID}}, []byte("x\r\n")); err != nil {
		t.Fatal(err)
	}
	if b := usage(t, s, u.Address).Bounces; b != 3 {
		t.Errorf("bounces %d, want 3 (mail from a sender is no bounce)", b)
	}
}

// TestRecentSends: the notice's history keeps the latest messages of the
// last day, newest first, within recentMax bytes per hour, without a cut
// line.
func TestRecentSends(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)}
	s := openTest(t, WithClock(c.now))
	u := seed(t, s)
	ctx := context.Background()
	for i := range 40 {
		c.t = c.t.Add(time.Minute)
		env := Envelope{From: u.Address, Remote: []string{"x@remote.test"},
			Sending: &Sending{Account: u.Address, IP: fmt.Sprintf("192.0.2.%d", i), Subject: strings.Repeat("s", 150), Rcpts: []string{"x@remote.test"}}}
		if err := s.Accept(ctx, env, []byte("x\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	recent, err := s.RecentSends(ctx, u.Address, 50)
	if err != nil || len(recent) < 5 {
		t.Fatalf("recent %+v, %v: want at least 5", recent, err)
	}
	if !recent[0].At.Equal(c.t) || recent[0].IP != "192.0.2.39" || recent[0].Subject != strings.Repeat("s", recentSubject) {
		t.Errorf("latest %+v, want the 40th message with its subject cut to %d", recent[0], recentSubject)
	}
	for i := 1; i < len(recent); i++ {
		if !recent[i].At.Before(recent[i-1].At) || len(recent[i].Subject) != recentSubject {
			t.Fatalf("entry %d %+v after %+v", i, recent[i], recent[i-1])
		}
	}
	if r, _ := s.RecentSends(ctx, u.Address, 2); len(r) != 2 {
		t.Errorf("RecentSends(2) gave %d", len(r))
	}
	c.t = c.t.Add(3 * 24 * time.Hour)
	if r, _ := s.RecentSends(ctx, u.Address, 50); len(r) != 0 {
		t.Errorf("%d sends recent three days later", len(r))
	}
}
