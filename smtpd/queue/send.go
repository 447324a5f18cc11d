package queue

import (
	"github.com/emersion/go-smtp"
)

// send runs one mail transaction for the recipients of d on the session
// and returns one result per recipient, in order. ok is false when the
// session is no longer usable (the connection broke or hung, or the
// server said 421): the caller then opens a new one for the next message.
// Recipients refused at RCPT get their own reply; the others share the
// reply to the end of data (partial success is per recipient). stale
// says the connection was found dead at MAIL, before anything of this
// message was sent: on a reused connection, the caller may simply try
// again on a new one.
func (s *session) send(d *delivery, body []byte, t Timeouts) (res []result, ok, stale bool) {
	s.used++
	res = make([]result, len(d.rcpts))
	fill := func(idx []int, r result) {
		for _, i := range idx {
			res[i] = r
		}
	}
	all := make([]int, len(d.rcpts))
	for i := range all {
		all[i] = i
	}
	opts := &smtp.MailOptions{Size: int64(len(body))}
	if needsUTF8(d) {
		if has, _ := s.c.Extension("SMTPUTF8"); !has {
			fill(all, result{kind: resPerm, mta: s.mta, status: "5.6.7",
				text: "the address is not ASCII and " + s.mta + " does not support SMTPUTF8"})
			return res, true, false
		}
		opts.UTF8 = true
	}
	if err := s.c.Mail(d.sender, opts); err != nil {
		fill(all, fromError(err, s.mta, "MAIL FROM"))
		return res, s.recover(err), !isReply(err)
	}
	var accepted []int
	for i, rc := range d.rcpts {
		if err := s.c.Rcpt(rc.Rcpt, nil); err != nil {
			res[i] = fromError(err, s.mta, "RCPT TO")
			if !isReply(err) {
				fill(append(accepted, all[i+1:]...), res[i])
				return res, false, false
			}
			continue
		}
		accepted = append(accepted, i)
	}
	if len(accepted) == 0 {
		return res, s.recover(nil), false
	}
	s.c.CommandTimeout = t.DataInit
	w, err := s.c.Data()
	s.c.CommandTimeout = t.Command
	if err != nil {
		fill(accepted, fromError(err, s.mta, "DATA"))
		return res, s.recover(err), false
	}
	if _, err := w.Write(body); err != nil {
		fill(accepted, fromError(err, s.mta, "sending the message"))
		return res, false, false
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		fill(accepted, fromError(err, s.mta, "end of data"))
		return res, isReply(err), false
	}
	fill(accepted, result{kind: resSent, mta: s.mta, status: "2.0.0", text: oneLine("250 " + resp.StatusText)})
	return res, true, false
}

// recover ends a transaction that failed before its data with RSET, and
// reports whether the session can go on.
func (s *session) recover(err error) bool {
	if err != nil && !isReply(err) {
		return false
	}
	return s.c.Reset() == nil
}

// needsUTF8 reports whether an address of the transaction is not ASCII.
func needsUTF8(d *delivery) bool {
	if !isASCII(d.sender) {
		return true
	}
	for _, r := range d.rcpts {
		if !isASCII(r.Rcpt) {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
