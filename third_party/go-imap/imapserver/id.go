package imapserver

// mailsuite: this file is mailsuite's. The ID command (RFC 2971).

import (
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// RFC 2971 section 3.3 limits; pairs beyond them are ignored, not an error.
const (
	maxIDPairs    = 30
	maxIDFieldLen = 30
	maxIDValueLen = 1024
)

// SessionID is implemented by sessions that answer ID.
type SessionID interface {
	// ID receives the client's fields, names in lower case, within RFC
	// 2971's limits, and returns the server's (nil for NIL).
	ID(client map[string]string) *imap.IDData
}

func (c *Conn) handleID(dec *imapwire.Decoder) error {
	if !dec.ExpectSP() {
		return dec.Err()
	}
	client := make(map[string]string)
	pairs := 0
	isList, err := dec.List(func() error {
		var k, v string
		if !dec.ExpectString(&k) || !dec.ExpectSP() || !dec.ExpectNString(&v) {
			return dec.Err()
		}
		pairs++
		if pairs <= maxIDPairs && len(k) <= maxIDFieldLen && len(v) <= maxIDValueLen {
			client[strings.ToLower(k)] = v
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !isList && !dec.ExpectNIL() {
		return dec.Err()
	}
	if !dec.ExpectCRLF() {
		return dec.Err()
	}

	var data *imap.IDData
	if session, ok := c.session.(SessionID); ok {
		data = session.ID(client)
	}

	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("ID").SP()
	writeIDData(enc.Encoder, data)
	return enc.CRLF()
}

func writeIDData(enc *imapwire.Encoder, data *imap.IDData) {
	if data == nil {
		enc.NIL()
		return
	}
	fields := [][2]string{
		{"name", data.Name},
		{"version", data.Version},
		{"os", data.OS},
		{"os-version", data.OSVersion},
		{"vendor", data.Vendor},
		{"support-url", data.SupportURL},
		{"address", data.Address},
		{"date", data.Date},
		{"command", data.Command},
		{"arguments", data.Arguments},
		{"environment", data.Environment},
	}
	n := 0
	for _, f := range fields {
		if f[1] == "" {
			continue
		}
		if n == 0 {
			enc.Special('(')
		} else {
			enc.SP()
		}
		enc.String(f[0]).SP().String(f[1])
		n++
	}
	if n == 0 {
		enc.NIL()
		return
	}
	enc.Special(')')
}
