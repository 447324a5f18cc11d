package imapserver

import (
	"bytes"
	"io"
	"strings"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"github.com/emersion/go-imap/v2"
)

// ExtractBodySection extracts a section of a message body.
//
// It can be used by server backends to implement Session.Fetch.
//
// mailsuite: the message is read once and walked by slicing (mime.go)
// within Dovecot's depth and part limits; BODY[], HEADER and MIME are the
// stored bytes rather than a re-serialized header.
func ExtractBodySection(r io.Reader, item *imap.FetchItemBodySection) []byte {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil
	}
	var w mimeWalk
	e := w.findPart(newMIMEEntity(b, 0, ""), item.Part)
	if e == nil {
		return nil
	}

	if len(item.Part) > 0 {
		switch item.Specifier {
		case imap.PartSpecifierHeader, imap.PartSpecifierText:
			e = w.open(e)
		}
	}
	rawHeader := e.raw[:len(e.raw)-len(e.body)]

	var out []byte
	switch {
	case item.Specifier == imap.PartSpecifierNone && len(item.Part) == 0:
		out = e.raw
	case item.Specifier == imap.PartSpecifierNone || item.Specifier == imap.PartSpecifierText:
		out = e.body
	case len(item.HeaderFields) == 0 && len(item.HeaderFieldsNot) == 0:
		out = rawHeader
	default:
		out = filterHeader(e.header, item)
	}
	return extractPartial(out, item.Partial)
}

// filterHeader writes the header fields HEADER.FIELDS (NOT) selects.
func filterHeader(header textproto.Header, item *imap.FetchItemBodySection) []byte {
	if len(item.HeaderFields) > 0 {
		keep := make(map[string]struct{})
		for _, k := range item.HeaderFields {
			keep[strings.ToLower(k)] = struct{}{}
		}
		for field := header.Fields(); field.Next(); {
			if _, ok := keep[strings.ToLower(field.Key())]; !ok {
				field.Del()
			}
		}
	}
	for _, k := range item.HeaderFieldsNot {
		header.Del(k)
	}
	var buf bytes.Buffer
	if err := textproto.WriteHeader(&buf, header); err != nil {
		return nil
	}
	return buf.Bytes()
}

// findPart returns the entity a section part path names, or nil.
//
// mailsuite: replaces findMessagePart, which stacked one streaming reader per
// level and had no depth limit.
func (w *mimeWalk) findPart(e *mimeEntity, partPath []int) *mimeEntity {
	// First part of non-multipart message refers to the message itself
	mediaType, _ := e.mediaType()
	if !strings.HasPrefix(mediaType, "multipart/") && len(partPath) > 0 && partPath[0] == 1 {
		partPath = partPath[1:]
	}
	for _, partNum := range partPath {
		e = w.open(e)
		mediaType, params := e.mediaType()
		if !strings.HasPrefix(mediaType, "multipart/") || w.opaque(e) {
			if partNum != 1 {
				return nil
			}
			continue
		}
		parts := w.children(e, params, nil)
		if partNum < 1 || partNum > len(parts) {
			return nil
		}
		e = child(parts[partNum-1], e, mediaType)
	}
	return e
}

// open returns the message inside a message/rfc822 entity, or e itself.
func (w *mimeWalk) open(e *mimeEntity) *mimeEntity {
	if mediaType, _ := e.mediaType(); isMessage(mediaType) && !w.opaque(e) {
		return w.encapsulated(e)
	}
	return e
}

func extractPartial(b []byte, partial *imap.SectionPartial) []byte {
	if partial == nil {
		return b
	}

	end := partial.Offset + partial.Size
	if partial.Offset > int64(len(b)) {
		return nil
	}
	if end > int64(len(b)) {
		end = int64(len(b))
	}
	return b[partial.Offset:end]
}

// ExtractBinarySection extracts a section of a message body, with its
// content transfer encoding undone.
//
// mailsuite: walks the message by slicing, as ExtractBodySection.
func ExtractBinarySection(r io.Reader, item *imap.FetchItemBinarySection) []byte {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil
	}
	var w mimeWalk
	e := w.findPart(newMIMEEntity(b, 0, ""), item.Part)
	if e == nil {
		return nil
	}

	part, err := gomessage.New(gomessage.Header{Header: e.header}, bytes.NewReader(e.body))
	if err != nil {
		return nil
	}

	// Write the requested data to a buffer
	var buf bytes.Buffer

	if len(item.Part) == 0 {
		if err := textproto.WriteHeader(&buf, part.Header.Header); err != nil {
			return nil
		}
	}

	if _, err := io.Copy(&buf, part.Body); err != nil {
		return nil
	}

	return extractPartial(buf.Bytes(), item.Partial)
}

func ExtractBinarySectionSize(r io.Reader, item *imap.FetchItemBinarySectionSize) uint32 {
	// TODO: optimize
	b := ExtractBinarySection(r, &imap.FetchItemBinarySection{Part: item.Part})
	return uint32(len(b))
}

// ExtractEnvelope returns a message envelope from its header.
//
// It can be used by server backends to implement Session.Fetch.
func ExtractEnvelope(h textproto.Header) *imap.Envelope {
	mh := mail.Header{gomessage.Header{h}}
	date, _ := mh.Date()
	subject, _ := mh.Subject()
	inReplyTo, _ := mh.MsgIDList("In-Reply-To")
	messageID, _ := mh.MessageID()
	return &imap.Envelope{
		Date:      date,
		Subject:   subject,
		From:      parseAddressList(mh, "From"),
		Sender:    parseAddressList(mh, "Sender"),
		ReplyTo:   parseAddressList(mh, "Reply-To"),
		To:        parseAddressList(mh, "To"),
		Cc:        parseAddressList(mh, "Cc"),
		Bcc:       parseAddressList(mh, "Bcc"),
		InReplyTo: inReplyTo,
		MessageID: messageID,
	}
}

// parseAddressList returns the addresses of field k.
//
// mailsuite: an RFC 5322 group comes out between a start marker (the group
// name as mailbox, no host) and an end marker (all nil), as RFC 3501 asks
// and Dovecot does, instead of being flattened or, when empty, dropped.
func parseAddressList(mh mail.Header, k string) []imap.Address {
	var l []imap.Address
	for _, seg := range splitGroups(mh.Get(k)) {
		seg.group = seg.group && seg.name != "" // a marker needs a name
		if seg.group {
			l = append(l, imap.Address{Mailbox: seg.name})
		}
		if strings.Trim(seg.list, " \t\r\n,") != "" {
			addrs, _ := mail.ParseAddressList(seg.list)
			for _, addr := range addrs {
				mailbox, host, ok := strings.Cut(addr.Address, "@")
				if !ok {
					continue
				}
				l = append(l, imap.Address{
					Name:    addr.Name,
					Mailbox: mailbox,
					Host:    host,
				})
			}
		}
		if seg.group {
			l = append(l, imap.Address{})
		}
	}
	return l
}

// addressSegment is a run of an address list: plain addresses, or the
// members of one group.
type addressSegment struct {
	group bool
	name  string // the group's display name
	list  string
}

// splitGroups cuts an address list header value at its groups
// ("name: a@b, c@d;"), skipping quoted strings, comments and angle
// addresses. An unterminated group runs to the end.
//
// mailsuite: added.
func splitGroups(v string) []addressSegment {
	var (
		segs      []addressSegment
		listStart int  // start of the pending plain addresses
		nameStart int  // after the last top-level comma
		group     = -1 // start of the open group's members
		name      string
		quoted    bool
		comment   int
		angle     bool
	)
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\' && (quoted || comment > 0):
			i++
		case quoted:
			quoted = c != '"'
		case comment > 0:
			if c == '(' {
				comment++
			} else if c == ')' {
				comment--
			}
		case c == '"':
			quoted = true
		case c == '(':
			comment = 1
		case angle:
			angle = c != '>'
		case c == '<':
			angle = true
		case c == ',' && group < 0:
			nameStart = i + 1
		case c == ':' && group < 0:
			segs = append(segs, addressSegment{list: v[listStart:nameStart]})
			name, group = groupName(v[nameStart:i]), i+1
		case c == ';' && group >= 0:
			segs = append(segs, addressSegment{group: true, name: name, list: v[group:i]})
			group, listStart, nameStart = -1, i+1, i+1
		}
	}
	if group >= 0 {
		return append(segs, addressSegment{group: true, name: name, list: v[group:]})
	}
	return append(segs, addressSegment{list: v[listStart:]})
}

// groupName returns a group's display name without quotes, comments and
// folding white space.
func groupName(s string) string {
	var (
		b       strings.Builder
		quoted  bool
		comment int
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && (quoted || comment > 0):
			i++
			if comment == 0 {
				b.WriteByte(s[i])
			}
		case comment > 0:
			if c == '(' {
				comment++
			} else if c == ')' {
				comment--
			}
		case c == '"':
			quoted = !quoted
		case c == '(' && !quoted:
			comment = 1
		default:
			b.WriteByte(c)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// ExtractBodyStructure extracts the structure of a message body.
//
// It can be used by server backends to implement Session.Fetch.
//
// mailsuite: the message is read once and walked by slicing (mime.go): the
// cost is linear in its size, entities deeper than Dovecot's limit are one
// opaque part, and a multipart without parts gets one empty text/plain part,
// as Dovecot answers, instead of making the writer panic.
func ExtractBodyStructure(r io.Reader) imap.BodyStructure {
	b, _ := io.ReadAll(r)
	var w mimeWalk
	bs, _ := w.bodyStructure(newMIMEEntity(b, 0, ""))
	return bs
}

// bodyStructure describes e and returns the number of lines of e.raw. Each
// byte is counted once: a multipart adds up its parts and the gaps between
// them, a message/rfc822 takes the count of the message inside.
func (w *mimeWalk) bodyStructure(e *mimeEntity) (imap.BodyStructure, int64) {
	header := gomessage.Header{Header: e.header}
	headerLines := countLines(e.raw[:len(e.raw)-len(e.body)])

	mediaType, typeParams := e.mediaType()
	primaryType, subType, _ := strings.Cut(mediaType, "/")
	if (primaryType == "multipart" || isMessage(mediaType)) && w.opaque(e) {
		primaryType, subType, mediaType = "application", "octet-stream", "application/octet-stream"
	}

	if primaryType == "multipart" {
		var bodyLines int64
		gap := func(b []byte) { bodyLines += countLines(b) }
		bs := &imap.BodyStructureMultiPart{Subtype: subType}
		for _, raw := range w.children(e, typeParams, gap) {
			part, n := w.bodyStructure(child(raw, e, mediaType))
			bodyLines += n
			bs.Children = append(bs.Children, part)
		}
		if len(bs.Children) == 0 {
			bs.Children = []imap.BodyStructure{emptyTextPart()}
		}
		bs.Extended = &imap.BodyStructureMultiPartExt{
			Params:      typeParams,
			Disposition: getContentDisposition(header),
			Language:    getContentLanguage(header),
			Location:    header.Get("Content-Location"),
		}
		return bs, headerLines + bodyLines
	}

	if _, ok := typeParams["charset"]; primaryType == "text" && !ok {
		// RFC 2045's default, which Dovecot spells out
		if typeParams == nil {
			typeParams = make(map[string]string)
		}
		typeParams["charset"] = "us-ascii"
	}
	bs := &imap.BodyStructureSinglePart{
		Type:        primaryType,
		Subtype:     subType,
		Params:      typeParams,
		ID:          header.Get("Content-Id"),
		Description: header.Get("Content-Description"),
		Encoding:    header.Get("Content-Transfer-Encoding"),
		Size:        uint32(len(e.body)),
	}
	var bodyLines int64
	if isMessage(mediaType) {
		inner := w.encapsulated(e)
		innerBS, n := w.bodyStructure(inner)
		bodyLines = n
		bs.MessageRFC822 = &imap.BodyStructureMessageRFC822{
			Envelope:      ExtractEnvelope(inner.header),
			BodyStructure: innerBS,
			NumLines:      n,
		}
	} else {
		bodyLines = countLines(e.body)
	}
	if primaryType == "text" {
		bs.Text = &imap.BodyStructureText{NumLines: bodyLines}
	}
	bs.Extended = &imap.BodyStructureSinglePartExt{
		Disposition: getContentDisposition(header),
		Language:    getContentLanguage(header),
		Location:    header.Get("Content-Location"),
	}
	return bs, headerLines + bodyLines
}

func countLines(b []byte) int64 {
	return int64(bytes.Count(b, []byte("\n")))
}

// emptyTextPart is the part Dovecot puts in a multipart that has none.
//
// mailsuite: added.
func emptyTextPart() *imap.BodyStructureSinglePart {
	return &imap.BodyStructureSinglePart{
		Type:     "text",
		Subtype:  "plain",
		Params:   map[string]string{"charset": "us-ascii"},
		Encoding: "7bit",
		Text:     &imap.BodyStructureText{},
		Extended: &imap.BodyStructureSinglePartExt{},
	}
}

func getContentDisposition(header gomessage.Header) *imap.BodyStructureDisposition {
	disp, dispParams, _ := header.ContentDisposition()
	if disp == "" {
		return nil
	}
	return &imap.BodyStructureDisposition{
		Value:  disp,
		Params: dispParams,
	}
}

func getContentLanguage(header gomessage.Header) []string {
	v := header.Get("Content-Language")
	if v == "" {
		return nil
	}
	// TODO: handle CFWS
	l := strings.Split(v, ",")
	for i, lang := range l {
		l[i] = strings.TrimSpace(lang)
	}
	return l
}
