package queue

import (
	"errors"
	"fmt"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/emersion/go-smtp"
)

// resultKind is what one attempt did for one recipient.
type resultKind int

const (
	resSent resultKind = iota
	resTemp            // try again later
	resPerm            // failed for good: bounce
)

// result is the outcome for one recipient of one attempt.
type result struct {
	kind   resultKind
	text   string // the server's reply ("550 5.1.1 no such user") or our error
	mta    string // the host whose reply text is; "" when no server answered
	status string // enhanced status code for the DSN, e.g. "5.1.1"
}

// temp and perm build results for failures that no server replied to.
func temp(status, format string, a ...any) result {
	return result{kind: resTemp, status: status, text: oneLine(fmt.Sprintf(format, a...))}
}

func perm(status, format string, a ...any) result {
	return result{kind: resPerm, status: status, text: oneLine(fmt.Sprintf(format, a...))}
}

// fromError turns what the client returned for a command into a result:
// a 5xx reply fails the recipient, anything else (4xx, a dropped or
// hung connection, a garbage reply) is retried.
func fromError(err error, mta, stage string) result {
	var se *smtp.SMTPError
	if !errors.As(err, &se) {
		return temp("4.4.2", "%s: %s: %v", mta, stage, err)
	}
	r := result{kind: resTemp, text: replyText(se), mta: mta, status: enhanced(se)}
	if se.Code >= 500 && se.Code <= 599 {
		r.kind = resPerm
	}
	return r
}

// isReply reports whether err is a reply from the server (the session
// is still in step), rather than a broken connection. 421 means the
// server is closing the connection.
func isReply(err error) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code != 421
}

// replyText renders a reply on one line: "550 5.1.1 no such user".
func replyText(se *smtp.SMTPError) string {
	msg := oneLine(se.Message)
	if c := se.EnhancedCode; c != (smtp.EnhancedCode{}) && c != smtp.NoEnhancedCode {
		return fmt.Sprintf("%d %d.%d.%d %s", se.Code, c[0], c[1], c[2], msg)
	}
	return fmt.Sprintf("%d %s", se.Code, msg)
}

// enhanced is the reply's enhanced status code, or one derived from the
// basic code's class.
func enhanced(se *smtp.SMTPError) string {
	c := se.EnhancedCode
	if c != (smtp.EnhancedCode{}) && c != smtp.NoEnhancedCode && c[0] == se.Code/100 {
		return fmt.Sprintf("%d.%d.%d", c[0], c[1], c[2])
	}
	if se.Code >= 500 {
		return "5.0.0"
	}
	return "4.0.0"
}

// replyError converts a raw textproto reply error (from the handshake,
// which runs before go-smtp's client) to the client's *smtp.SMTPError, so
// results treat both alike; a malformed reply is named as such.
func replyError(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) {
		return parseReply(te.Code, te.Msg)
	}
	var pe textproto.ProtocolError
	if errors.As(err, &pe) {
		return fmt.Errorf("malformed reply: %w", err)
	}
	return err
}

// describe renders an error for the log and the queue, a reply as the
// server gave it ("554 5.7.1 go away").
func describe(err error) string {
	var se *smtp.SMTPError
	if errors.As(replyError(err), &se) {
		return replyText(se)
	}
	return replyError(err).Error()
}

// parseReply builds an SMTPError from a code and the reply text, picking
// out the enhanced status code (RFC 3463) when the text starts with one.
func parseReply(code int, msg string) *smtp.SMTPError {
	se := &smtp.SMTPError{Code: code, Message: msg}
	first, rest, ok := strings.Cut(msg, " ")
	if !ok {
		return se
	}
	parts := strings.Split(first, ".")
	if len(parts) != 3 {
		return se
	}
	var ec smtp.EnhancedCode
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 999 {
			return se
		}
		ec[i] = n
	}
	se.EnhancedCode = ec
	se.Message = strings.ReplaceAll(rest, "\n"+first+" ", "\n")
	return se
}

// replyCode is the reply code carried by err, or 0.
func replyCode(err error) int {
	var se *smtp.SMTPError
	if errors.As(replyError(err), &se) {
		return se.Code
	}
	return 0
}

// oneLine folds a multi-line reply or error into one line of single
// spaces, for the store, the log and the DSN.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 900 {
		s = s[:900] + "..."
	}
	return s
}
