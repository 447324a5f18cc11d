package imapserver

// mailsuite: this file adds QUOTA (RFC 9208) to the server: GETQUOTAROOT
// and GETQUOTA answered from SessionQuota, SETQUOTA parsed and refused,
// and the QUOTA and QUOTA=RES-* capabilities. Upstream imapserver has
// none of it (only imapclient speaks QUOTA).

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// SessionQuota is an IMAP session which reports quotas (RFC 9208). Quotas
// are read-only: SETQUOTA is refused with NO.
type SessionQuota interface {
	Session

	// QuotaResources lists the resources the server reports, advertised
	// as QUOTA=RES-<type>.
	QuotaResources() []imap.QuotaResourceType
	// GetQuotaRoot returns the quota roots of a mailbox, each with its
	// usage and limits.
	GetQuotaRoot(mailbox string) ([]QuotaData, error)
	// GetQuota returns the usage and limits of a quota root.
	GetQuota(root string) (*QuotaData, error)
}

// QuotaData is one quota root and its resources, in the order they are
// sent. A resource without a limit is left out (RFC 9208 section 5).
type QuotaData struct {
	Root      string
	Resources []QuotaResource
}

// QuotaResource is the usage and limit of one resource. STORAGE counts
// units of 1024 octets.
type QuotaResource struct {
	Type  imap.QuotaResourceType
	Usage int64
	Limit int64
}

// quotaCaps are the capabilities QUOTA adds when the server declares
// imap.CapQuota and the session supports it.
func (c *Conn) quotaCaps(available imap.CapSet) []imap.Cap {
	session, ok := c.session.(SessionQuota)
	if !ok || !available.Has(imap.CapQuota) {
		return nil
	}
	caps := []imap.Cap{imap.CapQuota}
	for _, r := range session.QuotaResources() {
		caps = append(caps, imap.Cap("QUOTA=RES-"+string(r)))
	}
	return caps
}

func (c *Conn) quotaSession() (SessionQuota, error) {
	if err := c.checkState(imap.ConnStateAuthenticated); err != nil {
		return nil, err
	}
	session, ok := c.session.(SessionQuota)
	if !ok || !c.server.options.caps().Has(imap.CapQuota) {
		return nil, newClientBugError("QUOTA is not supported")
	}
	return session, nil
}

// handleQuota dispatches the QUOTA commands (one line in conn.go).
func (c *Conn) handleQuota(name string, dec *imapwire.Decoder) error {
	switch name {
	case "GETQUOTAROOT":
		return c.handleGetQuotaRoot(dec)
	case "GETQUOTA":
		return c.handleGetQuota(dec)
	default:
		return c.handleSetQuota(dec)
	}
}

func (c *Conn) handleGetQuotaRoot(dec *imapwire.Decoder) error {
	var mailbox string
	if !dec.ExpectSP() || !dec.ExpectMailbox(&mailbox) || !dec.ExpectCRLF() {
		return dec.Err()
	}
	session, err := c.quotaSession()
	if err != nil {
		return err
	}
	roots, err := session.GetQuotaRoot(mailbox)
	if err != nil {
		return err
	}
	if err := c.writeQuotaRoot(mailbox, roots); err != nil {
		return err
	}
	for i := range roots {
		if err := c.writeQuota(&roots[i]); err != nil {
			return err
		}
	}
	return nil
}

func (c *Conn) handleGetQuota(dec *imapwire.Decoder) error {
	var root string
	if !dec.ExpectSP() || !dec.ExpectAString(&root) || !dec.ExpectCRLF() {
		return dec.Err()
	}
	session, err := c.quotaSession()
	if err != nil {
		return err
	}
	data, err := session.GetQuota(root)
	if err != nil {
		return err
	}
	return c.writeQuota(data)
}

// handleSetQuota parses SETQUOTA in full, so a literal root name is read
// and the connection stays in step, and refuses it.
func (c *Conn) handleSetQuota(dec *imapwire.Decoder) error {
	var root string
	if !dec.ExpectSP() || !dec.ExpectAString(&root) || !dec.ExpectSP() {
		return dec.Err()
	}
	err := dec.ExpectList(func() error {
		var name string
		var limit int64
		if !dec.ExpectAtom(&name) || !dec.ExpectSP() || !dec.ExpectNumber64(&limit) {
			return dec.Err()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !dec.ExpectCRLF() {
		return dec.Err()
	}
	if _, err := c.quotaSession(); err != nil {
		return err
	}
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNoPerm,
		Text: "Quotas are set by the administrator"}
}

func (c *Conn) writeQuotaRoot(mailbox string, roots []QuotaData) error {
	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("QUOTAROOT").SP().Mailbox(mailbox)
	for _, r := range roots {
		enc.SP().String(r.Root)
	}
	return enc.CRLF()
}

func (c *Conn) writeQuota(data *QuotaData) error {
	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("QUOTA").SP().String(data.Root).SP()
	enc.List(len(data.Resources), func(i int) {
		r := data.Resources[i]
		enc.Atom(string(r.Type)).SP().Number64(r.Usage).SP().Number64(r.Limit)
	})
	return enc.CRLF()
}
