package imapserver

// mailsuite: this file is mailsuite's.

import (
	"errors"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// maxDiscard bounds what is read and thrown away after a command the
// server answered early: refused non-synchronizing literals and the rest of
// their command. A client sending more is disconnected with BYE.
const maxDiscard = 8 << 20

// discardCommand throws away the rest of the command dec is reading. A
// refused non-synchronizing literal (LITERAL+, sent before the refusal) is
// read and dropped, so that its lines never run as commands.
func (c *Conn) discardCommand(dec *imapwire.Decoder) error {
	c.setReadTimeout(literalReadTimeout)
	defer c.setReadTimeout(cmdReadTimeout)
	return dec.DiscardCommand(maxDiscard)
}

// afterDiscard ends the connection if discardCommand could not skip the
// rest of the command; the command has been answered already.
func (c *Conn) afterDiscard(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, imapwire.ErrDiscardLimit) {
		c.state = imap.ConnStateLogout
		if werr := c.writeStatusResp("", &imap.StatusResponse{
			Type: imap.StatusResponseTypeBye,
			Text: "Too much data after a refused command",
		}); werr != nil {
			return werr
		}
	}
	return err
}
