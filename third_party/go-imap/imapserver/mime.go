package imapserver

// mailsuite: this file is mailsuite's. It splits a message held in memory
// into its MIME entities by slicing, never copying or re-reading a part, so
// that body structure and section extraction cost is linear in the message
// size and a hostile message (thousands of nested message/rfc822 parts, an
// empty multipart) can neither exhaust memory nor panic the writer. The
// limits are Dovecot's.

import (
	"bufio"
	"bytes"
	"strings"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

const (
	// maxMIMEDepth is how deep entities nest: an entity at depth
	// maxMIMEDepth-1 (the message itself is at depth 0) is not opened even
	// if it is a multipart or a message/rfc822, but described as one opaque
	// application/octet-stream part, as Dovecot does.
	maxMIMEDepth = 100
	// maxMIMEParts bounds the number of entities of one message; once it is
	// reached, further boundaries are ignored and the rest of a multipart
	// belongs to its last part.
	maxMIMEParts = 10000
)

// mimeEntity is one MIME entity: a header and a body, both slices of the
// message.
type mimeEntity struct {
	header textproto.Header
	raw    []byte // header, blank line and body
	body   []byte
	depth  int
	// parentType is the media type of the enclosing multipart, for the
	// multipart/digest default of message/rfc822.
	parentType string
}

// mimeWalk holds the state shared by the entities of one message.
type mimeWalk struct {
	parts int // entities seen so far
}

// newMIMEEntity parses the header of raw.
func newMIMEEntity(raw []byte, depth int, parentType string) *mimeEntity {
	off := bodyOffset(raw)
	var header textproto.Header
	if off > 0 && raw[0] != '\n' && !bytes.HasPrefix(raw, []byte("\r\n")) { // not a blank first line
		header = parseHeaderBytes(raw[:off])
	}
	return &mimeEntity{
		header:     header,
		raw:        raw,
		body:       raw[off:],
		depth:      depth,
		parentType: parentType,
	}
}

// bodyOffset returns where the body of raw starts: after the first empty
// line, or at the end if there is none.
func bodyOffset(b []byte) int {
	for i := 0; i < len(b); {
		if b[i] == '\n' {
			return i + 1
		}
		if b[i] == '\r' && i+1 < len(b) && b[i+1] == '\n' {
			return i + 2
		}
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
	}
	return len(b)
}

// parseHeaderBytes parses a header block. A malformed line is skipped
// rather than ending the header, so fields after it still count.
func parseHeaderBytes(b []byte) textproto.Header {
	size := len(b) + 16
	if size > 4096 {
		size = 4096
	}
	r := bytes.NewReader(b)
	br := bufio.NewReaderSize(r, size)
	var h textproto.Header
	for first := true; ; first = false {
		before := r.Len() + br.Buffered()
		part, err := textproto.ReadHeader(br)
		if first {
			h = part
		} else {
			for f := part.Fields(); f.Next(); {
				if kv, err := f.Raw(); err == nil {
					h.AddRaw(kv)
				}
			}
		}
		if err == nil || r.Len()+br.Buffered() >= before || r.Len()+br.Buffered() == 0 {
			return h
		}
	}
}

// mediaType returns the entity's media type, lower case, and parameters.
func (e *mimeEntity) mediaType() (string, map[string]string) {
	h := gomessage.Header{Header: e.header}
	if !h.Has("Content-Type") && e.parentType == "multipart/digest" {
		return "message/rfc822", nil
	}
	t, params, _ := h.ContentType()
	return strings.ToLower(t), params
}

// isMessage reports whether mediaType encapsulates a message.
func isMessage(mediaType string) bool {
	return mediaType == "message/rfc822" || mediaType == "message/global"
}

// opaque reports whether a multipart or message entity is not to be opened:
// it is too deep, or the message has too many parts already.
func (w *mimeWalk) opaque(e *mimeEntity) bool {
	return e.depth >= maxMIMEDepth-1 || w.parts >= maxMIMEParts
}

// encapsulated returns the message inside a message/rfc822 entity.
func (w *mimeWalk) encapsulated(e *mimeEntity) *mimeEntity {
	w.parts++
	return newMIMEEntity(e.body, e.depth+1, "")
}

// children splits the body of a multipart entity into its parts, raw: the
// caller makes entities of those it needs with child. gap receives the
// bytes between parts (preamble, delimiter lines, epilogue) so that line
// counts can add up without scanning a part twice.
func (w *mimeWalk) children(e *mimeEntity, params map[string]string, gap func([]byte)) [][]byte {
	boundary := params["boundary"]
	if boundary == "" {
		if gap != nil {
			gap(e.body)
		}
		return nil
	}
	dash := []byte("--" + boundary)
	var (
		parts [][]byte
		start = -1 // start of the open part, -1 before the first delimiter
		gapAt = 0  // start of the bytes not yet given to a part or gap
	)
	b := e.body
	for pos := 0; pos < len(b); {
		i := bytes.Index(b[pos:], dash)
		if i < 0 {
			break
		}
		i += pos
		lineEnd := len(b)
		if j := bytes.IndexByte(b[i:], '\n'); j >= 0 {
			lineEnd = i + j + 1
		}
		rest, closing := b[i+len(dash):lineEnd], false
		if bytes.HasPrefix(rest, []byte("--")) {
			rest, closing = rest[2:], true
		}
		if (i > 0 && b[i-1] != '\n') || len(bytes.Trim(rest, " \t\r\n")) > 0 {
			pos = i + len(dash)
			continue
		}
		if start >= 0 {
			if w.parts >= maxMIMEParts {
				break // the last part takes the rest
			}
			end := i
			if end > start && b[end-1] == '\n' {
				end--
				if end > start && b[end-1] == '\r' {
					end--
				}
			}
			parts = append(parts, b[start:end])
			w.parts++
			gapAt = end
		}
		if gap != nil {
			gap(b[gapAt:lineEnd])
		}
		gapAt = lineEnd
		if closing {
			start = -1
			break
		}
		start = lineEnd
		pos = lineEnd
	}
	if start >= 0 {
		parts = append(parts, b[start:])
		w.parts++
		gapAt = len(b)
	}
	if gap != nil {
		gap(b[gapAt:])
	}
	return parts
}

// child makes an entity of a part children returned.
func child(raw []byte, parent *mimeEntity, mediaType string) *mimeEntity {
	return newMIMEEntity(raw, parent.depth+1, mediaType)
}
