package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/emersion/go-msgauth/dkim"

	"mailsuite/shared/config"
	"mailsuite/shared/dkimkey"
	"mailsuite/store"
)

// signedFields are the header fields a DKIM signature covers when the
// message has them: RFC 6376 §5.4.1's list, and Message-ID and the MIME
// fields, whose change would change what the reader sees. From is signed
// once more than it occurs (oversigned), so a second From added on the
// way breaks the signature instead of being shown to the reader.
var signedFields = map[string]bool{
	"from": true, "reply-to": true, "subject": true, "date": true, "to": true, "cc": true,
	"resent-date": true, "resent-from": true, "resent-to": true, "resent-cc": true,
	"in-reply-to": true, "references": true, "list-id": true, "list-help": true,
	"list-unsubscribe": true, "list-subscribe": true, "list-post": true, "list-owner": true,
	"list-archive": true, "message-id": true, "mime-version": true, "content-type": true,
	"content-transfer-encoding": true,
}

// withDKIM returns head with DKIM-Signature fields in front of it when
// the message is mail smtpd relays for one of its users (AUTH or grant)
// from a domain with an active key: one signature per active key, RSA
// first, then Ed25519 (RFC 8463). The domain signed for (d=) is the
// envelope sender's (see signingDomain). Mail from outside (the MX role
// without AUTH or grant) is never signed.
//
// A key that cannot be used (unparsable, wrong type) or a store error
// never costs the message: it goes out without that signature and the
// failure is logged as an ERROR for the operator.
func (s *session) withDKIM(ctx context.Context, id string, body *spool, head []byte) []byte {
	domain, ok := s.signingDomain()
	if !ok {
		return head
	}
	keys, err := s.srv.st.SigningKeys(ctx, domain)
	if err != nil {
		s.srv.log.Error("message not DKIM-signed", "id", id, "domain", domain, "err", err)
		return head
	}
	if len(keys) == 0 {
		return head
	}
	var signers []*dkim.SignOptions
	for _, k := range keys {
		key, err := s.srv.dkim.signer(k)
		if err != nil {
			s.srv.log.Error("DKIM key unusable", "id", id, "domain", domain, "selector", k.Selector, "err", err)
			continue
		}
		signers = append(signers, signOptions(domain, k.Selector, key))
	}
	sigs, err := sign(body.reader, signers)
	if err != nil {
		s.srv.log.Error("message not DKIM-signed", "id", id, "domain", domain, "err", err)
		return head
	}
	return concat(sigs, head)
}

// signingDomain is the domain to sign for: the envelope sender's, when
// the transaction is a user's submission. Under strict sender checking
// DecideMail has tied that sender to the client's identity; with
// relay.sender_check = "off" any sender passes, so the domain must then
// be the identity's own (the credential's, or a granted user's), lest a
// user of one hosted domain send mail signed as another.
func (s *session) signingDomain() (string, bool) {
	if s.tx.mail.Via == "" || s.tx.from == "" {
		return "", false
	}
	_, d := store.SplitAddress(s.tx.from)
	if s.srv.cfg.Relay.SenderCheck != config.SenderCheckOff {
		return d, true
	}
	if s.cred != nil {
		return d, s.cred.Domain == d
	}
	for _, g := range s.tx.id.Granted {
		if _, gd := store.SplitAddress(g); gd == d {
			return d, true
		}
	}
	return d, false
}

// signOptions are the settings of every signature: relaxed/relaxed
// canonicalization, SHA-256, no body length limit.
func signOptions(domain, selector string, key crypto.Signer) *dkim.SignOptions {
	return &dkim.SignOptions{
		Domain:                 domain,
		Selector:               selector,
		Signer:                 key,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
	}
}

// errNoFrom: a message without a From field has no author to sign for.
var errNoFrom = errors.New("no From header field")

// sign returns the DKIM-Signature fields of every signer, in order, each
// ending in CRLF. It reads the header of the message (from a first
// reader of msg) for its field names, then the whole message (from a
// second one) once for all signers.
func sign(msg func() io.Reader, opts []*dkim.SignOptions) ([]byte, error) {
	if len(opts) == 0 {
		return nil, nil
	}
	fields, err := headerFields(msg())
	if err != nil {
		return nil, err
	}
	ws := make([]io.Writer, len(opts))
	signers := make([]*dkim.Signer, len(opts))
	for i, o := range opts {
		o.HeaderKeys = fields
		sg, err := dkim.NewSigner(o)
		if err != nil {
			closeAll(signers[:i])
			return nil, err
		}
		signers[i], ws[i] = sg, sg
	}
	if _, err := io.Copy(io.MultiWriter(ws...), msg()); err != nil {
		closeAll(signers)
		return nil, fmt.Errorf("dkim: read message: %w", err)
	}
	var out bytes.Buffer
	for _, sg := range signers {
		if err := sg.Close(); err != nil {
			return nil, err
		}
		out.WriteString(sg.Signature())
	}
	return out.Bytes(), nil
}

func closeAll(signers []*dkim.Signer) {
	for _, sg := range signers {
		sg.Close()
	}
}

// headerFields lists, in order, the fields of the message's header that
// the signature covers (see signedFields), with From once more.
func headerFields(msg io.Reader) ([]string, error) {
	br := bufio.NewReader(msg)
	var fields []string
	from := false
	for {
		line, err := br.ReadSlice('\n')
		if len(line) == 0 || line[0] == '\r' || line[0] == '\n' {
			break // end of the header (or of a message with no body)
		}
		if line[0] != ' ' && line[0] != '\t' {
			if name, _, ok := bytes.Cut(line, []byte(":")); ok {
				n := strings.ToLower(strings.TrimSpace(string(name)))
				if signedFields[n] {
					fields = append(fields, n)
					from = from || n == "from"
				}
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			// A long line: skip the rest of it.
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
		}
		if err != nil {
			break
		}
	}
	if !from {
		return nil, errNoFrom
	}
	return append(fields, "from"), nil
}

// dkimKeys keeps parsed private keys, so a message costs a signature,
// not a key parse. It is keyed by the stored key itself: a replaced key
// is never mistaken for the one before. It is cleared when it grows past
// maxParsedKeys, which bounds its memory whatever the store holds.
type dkimKeys struct {
	mu     sync.Mutex
	parsed map[string]crypto.Signer // guarded by mu
}

const maxParsedKeys = 256

func (c *dkimKeys) signer(k store.DKIMKey) (crypto.Signer, error) {
	id := k.Algorithm + "\x00" + string(k.Private)
	c.mu.Lock()
	key, ok := c.parsed[id]
	c.mu.Unlock()
	if ok {
		return key, nil
	}
	key, err := dkimkey.Parse(k.Algorithm, k.Private)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.parsed == nil || len(c.parsed) >= maxParsedKeys {
		c.parsed = map[string]crypto.Signer{}
	}
	c.parsed[id] = key
	c.mu.Unlock()
	return key, nil
}

// reader reads the message as it will be stored (after replaceHeader),
// from memory or from its spool file.
func (sp *spool) reader() io.Reader {
	if sp.file == nil {
		return bytes.NewReader(sp.buf)
	}
	return io.MultiReader(bytes.NewReader(sp.head), io.NewSectionReader(sp.file, sp.skip, sp.size-sp.skip))
}
