package queue

import (
	"bufio"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"

	"mailsuite/store"
)

// parsedDSN is a bounce as a receiving mail client sees it.
type parsedDSN struct {
	from       string
	header     message.Header
	text       string
	perMessage textproto.Header
	rcpts      []textproto.Header
	headers    string // the text/rfc822-headers part
}

// parseDSN reads a bounce with go-message and checks its RFC 3464 shape.
func parseDSN(t *testing.T, raw string) parsedDSN {
	t.Helper()
	ent, err := message.Read(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("go-message cannot read the bounce: %v\n%s", err, raw)
	}
	d := parsedDSN{header: ent.Header}
	mt, params, err := ent.Header.ContentType()
	if err != nil || mt != "multipart/report" || params["report-type"] != "delivery-status" {
		t.Fatalf("Content-Type = %q %v (%v)", mt, params, err)
	}
	mr := ent.MultipartReader()
	var types []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("bounce part: %v", err)
		}
		ct, _, _ := p.Header.ContentType()
		types = append(types, ct)
		b, err := io.ReadAll(p.Body)
		if err != nil {
			t.Fatal(err)
		}
		switch ct {
		case "text/plain":
			d.text = string(b)
		case "message/delivery-status":
			br := bufio.NewReader(strings.NewReader(string(b)))
			if d.perMessage, err = textproto.ReadHeader(br); err != nil {
				t.Fatalf("per-message fields: %v", err)
			}
			for {
				if _, err := br.Peek(1); err != nil {
					break
				}
				h, err := textproto.ReadHeader(br)
				if err != nil {
					t.Fatalf("per-recipient fields: %v", err)
				}
				d.rcpts = append(d.rcpts, h)
			}
		case "text/rfc822-headers":
			d.headers = string(b)
		}
	}
	if strings.Join(types, ",") != "text/plain,message/delivery-status,text/rfc822-headers" {
		t.Errorf("parts = %v", types)
	}
	return d
}

func TestComposeDSNOddInput(t *testing.T) {
	m := store.QueuedMessage{ID: 1, Sender: "odd.sender+tag@example.org", Created: time.Unix(1700000000, 0)}
	failed := []store.QueuedRcpt{
		{Rcpt: "üser@example.net", LastError: "550 5.7.1 multi line one two", RemoteMTA: "mx.example.net", DSNStatus: "5.7.1"},
		{Rcpt: "x@[192.0.2.1]", LastError: "domain accepts no mail", DSNStatus: "4.4.1"},
	}
	body, err := composeDSN("mx.test", m, failed, []byte("Subject: no body separator\r\n"), time.Unix(1700000100, 0), notice{})
	if err != nil {
		t.Fatal(err)
	}
	d := parseDSN(t, string(body))
	if len(d.rcpts) != 2 {
		t.Fatalf("%d recipient blocks", len(d.rcpts))
	}
	if got := d.rcpts[0].Get("Final-Recipient"); got != "rfc822; ?ser@example.net" {
		t.Errorf("non-ASCII recipient = %q", got)
	}
	if got := d.rcpts[1].Get("Status"); got != "5.0.0" {
		t.Errorf("a temporary status in a failure report = %q, want 5.0.0", got)
	}
	if got := d.rcpts[1].Get("Diagnostic-Code"); got != "X-mailsuite; domain accepts no mail" {
		t.Errorf("own error diagnostic = %q", got)
	}
	if !strings.Contains(d.headers, "Subject: no body separator") {
		t.Errorf("headers = %q", d.headers)
	}
}
