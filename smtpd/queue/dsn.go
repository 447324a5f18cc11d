package queue

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-message"

	"mailsuite/store"
)

// maxReturnedHeaders bounds the original header block quoted in a bounce.
const maxReturnedHeaders = 64 << 10

// notice is what a DSN reports: the final failure of its recipients (a
// bounce), or, with delayed set, that they are still being retried.
type notice struct {
	delayed bool
	// until is when the queue gives up (delayed only: Will-Retry-Until).
	until time.Time
}

// composeDSN writes the bounce (or delay notice) for a queued message
// whose failed (or delayed) recipients are given: an RFC 3464
// multipart/report with a human text, the machine-readable
// message/delivery-status, and the original's header
// (text/rfc822-headers), from MAILER-DAEMON to the original sender.
func composeDSN(hostname string, m store.QueuedMessage, rcpts []store.QueuedRcpt, original []byte, now time.Time, n notice) ([]byte, error) {
	var buf bytes.Buffer
	var h message.Header
	h.Set("From", "Mail Delivery System <MAILER-DAEMON@"+hostname+">")
	h.Set("To", "<"+m.Sender+">")
	subject, headers := "Undelivered Mail Returned to Sender", "Undelivered Message Headers"
	if n.delayed {
		subject, headers = "Delayed Mail (still being retried)", "Delayed Message Headers"
	}
	h.Set("Subject", subject)
	h.Set("Date", now.Format(time.RFC1123Z))
	h.Set("Message-Id", "<"+randomID()+"@"+hostname+">")
	h.Set("Auto-Submitted", "auto-replied")
	h.Set("MIME-Version", "1.0")
	h.SetContentType("multipart/report", map[string]string{"report-type": "delivery-status"})
	w, err := message.CreateWriter(&buf, h)
	if err != nil {
		return nil, fmt.Errorf("compose bounce: %w", err)
	}
	parts := []struct {
		ctype, desc, enc string
		body             []byte
	}{
		{"text/plain", "Notification", "quoted-printable", humanText(hostname, rcpts, n)},
		{"message/delivery-status", "Delivery report", "7bit", deliveryStatus(hostname, m, rcpts, now, n)},
		{"text/rfc822-headers", headers, "", headerBlock(original)},
	}
	for _, p := range parts {
		var ph message.Header
		params := map[string]string(nil)
		if p.ctype == "text/plain" {
			params = map[string]string{"charset": "utf-8"}
		}
		ph.SetContentType(p.ctype, params)
		ph.Set("Content-Description", p.desc)
		if p.enc != "" {
			ph.Set("Content-Transfer-Encoding", p.enc)
		}
		pw, err := w.CreatePart(ph)
		if err != nil {
			return nil, fmt.Errorf("compose bounce: %w", err)
		}
		if _, err := pw.Write(p.body); err != nil {
			return nil, fmt.Errorf("compose bounce: %w", err)
		}
		if err := pw.Close(); err != nil {
			return nil, fmt.Errorf("compose bounce: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("compose bounce: %w", err)
	}
	return buf.Bytes(), nil
}

// humanText is the part a person reads.
func humanText(hostname string, rcpts []store.QueuedRcpt, n notice) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "This is the mail system at host %s.\r\n\r\n", hostname)
	if n.delayed {
		b.WriteString("Your message could not be delivered yet to one or more\r\n")
		b.WriteString("recipients. This is only a warning: you do not need to send\r\n")
		b.WriteString("the message again. Delivery will be tried until\r\n")
		fmt.Fprintf(&b, "%s; if it still fails then, you will be told.\r\n\r\n", n.until.UTC().Format(time.RFC1123Z))
	} else {
		b.WriteString("I'm sorry to have to inform you that your message could not\r\n")
		b.WriteString("be delivered to one or more recipients. It's attached below.\r\n\r\n")
	}
	for _, rc := range rcpts {
		fmt.Fprintf(&b, "<%s>: ", rc.Rcpt)
		if rc.RemoteMTA != "" && isReplyText(rc.LastError) {
			fmt.Fprintf(&b, "host %s said: ", rc.RemoteMTA)
		}
		fmt.Fprintf(&b, "%s\r\n", rc.LastError)
	}
	return []byte(b.String())
}

// deliveryStatus is the message/delivery-status body (RFC 3464 §2.2,
// §2.3): the per-message fields, then one block per failed (or delayed)
// recipient.
func deliveryStatus(hostname string, m store.QueuedMessage, rcpts []store.QueuedRcpt, now time.Time, n notice) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "Reporting-MTA: dns; %s\r\n", hostname)
	fmt.Fprintf(&b, "Arrival-Date: %s\r\n", m.Created.Format(time.RFC1123Z))
	for _, rc := range rcpts {
		b.WriteString("\r\n")
		fmt.Fprintf(&b, "Final-Recipient: rfc822; %s\r\n", ascii(rc.Rcpt))
		if n.delayed {
			b.WriteString("Action: delayed\r\n")
			fmt.Fprintf(&b, "Status: %s\r\n", delayStatus(rc.DSNStatus))
		} else {
			b.WriteString("Action: failed\r\n")
			fmt.Fprintf(&b, "Status: %s\r\n", finalStatus(rc.DSNStatus))
		}
		if rc.RemoteMTA != "" {
			fmt.Fprintf(&b, "Remote-MTA: dns; %s\r\n", ascii(rc.RemoteMTA))
		}
		if rc.RemoteMTA != "" && isReplyText(rc.LastError) {
			fmt.Fprintf(&b, "Diagnostic-Code: smtp; %s\r\n", ascii(rc.LastError))
		} else if rc.LastError != "" {
			fmt.Fprintf(&b, "Diagnostic-Code: X-mailsuite; %s\r\n", ascii(rc.LastError))
		}
		switch {
		case n.delayed:
			// A delay notice goes out right after an attempt; NextAttempt
			// is the next one.
			fmt.Fprintf(&b, "Last-Attempt-Date: %s\r\n", now.Format(time.RFC1123Z))
			fmt.Fprintf(&b, "Will-Retry-Until: %s\r\n", n.until.Format(time.RFC1123Z))
		case !rc.NextAttempt.IsZero():
			fmt.Fprintf(&b, "Last-Attempt-Date: %s\r\n", rc.NextAttempt.Format(time.RFC1123Z))
		}
	}
	return []byte(b.String())
}

// delayStatus makes sure a delayed recipient's status is a temporary one.
func delayStatus(s string) string {
	if len(s) < 5 || s[0] != '4' {
		return "4.0.0"
	}
	return s
}

// finalStatus makes sure a failed recipient's status is a permanent one.
func finalStatus(s string) string {
	if len(s) < 5 || s[0] != '5' {
		return "5.0.0"
	}
	return s
}

// isReplyText reports whether s is an SMTP reply ("550 ...") rather than
// an error of our own.
func isReplyText(s string) bool {
	return len(s) >= 4 && s[0] >= '2' && s[0] <= '5' &&
		s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9' && s[3] == ' '
}

// headerBlock returns the original message's header section, which the
// bounce quotes so the sender can tell which message failed.
func headerBlock(body []byte) []byte {
	end := len(body)
	if i := bytes.Index(body, []byte("\r\n\r\n")); i >= 0 {
		end = i + 2
	} else if i := bytes.Index(body, []byte("\n\n")); i >= 0 {
		end = i + 1
	}
	if end > maxReturnedHeaders {
		end = bytes.LastIndexByte(body[:maxReturnedHeaders], '\n') + 1
	}
	return body[:end]
}

// ascii replaces bytes outside printable ASCII, which the 7-bit
// delivery-status part cannot carry.
func ascii(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}

func randomID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}
