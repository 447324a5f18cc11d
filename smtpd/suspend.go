package main

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"strings"
	"time"

	"mailsuite/store"
)

// This file suspends an account that reached a sending limit or received
// a bounce storm (relay.suspend_on_limit): its SMTP authority goes off in
// the store, so every smtpd process refuses it (an open AUTH session at
// its next MAIL FROM, see recheckAuth; grants are deleted), one line is
// logged, and one notice goes to the postmasters.

// suspend switches the account's SMTP authority off because of reason
// ("500 messages per hour": the value, then what). Of all the sessions
// and processes that reach the limit, the one whose store write switched
// it off logs, counts it, and sends the notice. It reports whether the
// account is without SMTP authority now.
func (s *server) suspend(ctx context.Context, account, reason, ip string) bool {
	var did bool
	var err error
	if strings.Contains(account, "@") {
		did, err = s.st.SuspendUser(ctx, account, reason)
	} else {
		did, err = s.st.SuspendDomainCredential(ctx, account, reason)
	}
	if err != nil {
		s.log.Error("suspend", "account", account, "reason", reason, "err", err)
		return false
	}
	if !did {
		return true
	}
	s.log.Warn("smtp suspended", "account", account, "reason", reason, "ip", ip)
	_, what, _ := strings.Cut(reason, " ")
	s.metrics.Suspension(strings.ReplaceAll(what, " ", "_"))
	if err := s.notifySuspension(ctx, account, reason, ip); err != nil {
		s.log.Error("suspension notice", "account", account, "err", err)
	}
	return true
}

// bounceStorms suspends the users among ids (who just received mail from
// <>) that reached relay.max_bounces_per_hour.
func (s *server) bounceStorms(ctx context.Context, ids []int64) {
	max := s.cfg.Relay.MaxBouncesPerHour
	if max == 0 || !s.cfg.Relay.SuspendOnLimit || len(ids) == 0 {
		return
	}
	addrs, err := s.st.BounceStorms(ctx, ids, max)
	if err != nil {
		s.log.Error("bounce count", "err", err)
		return
	}
	for _, a := range addrs {
		s.suspend(ctx, a, fmt.Sprintf("%d bounces per hour", max), "")
	}
}

// Notice contents: how many client addresses and subjects it lists.
const (
	noticeIPs      = 10
	noticeSubjects = 5
)

// notifySuspension delivers one notice to postmaster@ of the account's
// domain and of hostname (one copy to a user both reach), naming the
// account, the limit, the client addresses and the latest subjects.
func (s *server) notifySuspension(ctx context.Context, account, reason, ip string) error {
	recent, err := s.st.RecentSends(ctx, account, 50)
	if err != nil {
		return err
	}
	domain := account
	if _, d := store.SplitAddress(account); d != "" {
		domain = d
	}
	env := store.Envelope{IsBounce: true}
	for _, rcpt := range []string{"postmaster@" + domain, "postmaster"} { // the bare one is the host's
		res, err := s.st.Route(ctx, rcpt, s.cfg.Hostname)
		if err != nil {
			return err
		}
		env.From = res.Addr // the host's postmaster sends it
		for _, u := range res.Users {
			env.Local = appendNew(env.Local, u.ID)
		}
		for _, r := range res.Remote {
			env.Remote = appendNew(env.Remote, r)
		}
	}
	env.LocalPrefix = []byte("Return-Path: <" + env.From + ">\r\n")
	if len(env.Local) == 0 && len(env.Remote) == 0 {
		return fmt.Errorf("no postmaster to tell")
	}
	body := suspensionNotice(s.cfg.Hostname, env.From, domain, account, reason, ip, recent, s.st.Now())
	if err := s.st.Accept(ctx, env, body); err != nil {
		return err
	}
	if len(env.Remote) > 0 && s.kick != nil {
		s.kick()
	}
	return nil
}

func appendNew[T comparable](list []T, v T) []T {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

// suspensionNotice composes the notice: plain text for the operator,
// with the command that restores the account.
func suspensionNotice(hostname, from, domain, account, reason, ip string, recent []store.SendRecord, now time.Time) []byte {
	var ips, subjects []string
	if ip != "" {
		ips = append(ips, ip)
	}
	for _, r := range recent {
		if len(ips) < noticeIPs {
			ips = appendNew(ips, r.IP)
		}
		if len(subjects) < noticeSubjects {
			subjects = append(subjects, fmt.Sprintf("%s  %s  %s", r.At.UTC().Format("15:04:05"), r.IP, r.Subject))
		}
	}
	restore := "mailctl user smtp " + account + " on"
	if !strings.Contains(account, "@") {
		restore = "mailctl domain smtp-password " + account + " --password-stdin"
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Mail system <%s>\r\nTo: <postmaster@%s>\r\n", from, domain)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", "Sending suspended: "+account+" ("+reason+")"))
	fmt.Fprintf(&b, "Date: %s\r\nMessage-ID: <%s@%s>\r\nAuto-Submitted: auto-generated\r\n", now.Format(time.RFC1123Z), messageID(), hostname)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	fmt.Fprintf(&b, "%s reached its sending limit of %s at %s\r\n", account, reason, now.UTC().Format("2006-01-02 15:04:05 MST"))
	b.WriteString("and can no longer send mail (relay.suspend_on_limit). Its relay grants\r\nwere revoked.\r\n\r\n")
	fmt.Fprintf(&b, "Client addresses: %s\r\n\r\nLatest messages (time, client, subject):\r\n", strings.Join(ips, ", "))
	for _, sub := range subjects {
		b.WriteString("  " + sub + "\r\n")
	}
	if len(subjects) == 0 {
		b.WriteString("  (none recorded)\r\n")
	}
	fmt.Fprintf(&b, "\r\nIf the password was stolen, change it first. To let the account send\r\nagain (its counts start over):\r\n\r\n  %s\r\n", restore)
	return b.Bytes()
}
