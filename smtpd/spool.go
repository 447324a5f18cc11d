package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/emersion/go-smtp"

	"mailsuite/store"
)

// A message arrives into memory up to spoolMem bytes; past that it goes
// on in a file under data_dir/tmp, so a session holds at most spoolMem
// of it however large it is and however slowly it comes.
const (
	spoolMem = 1 << 20
	// bodyBufSize is the buffer a message starts with: most mail fits,
	// so it is read in a few reads rather than many growing ones.
	bodyBufSize = 16 << 10
	// readChunk bounds one read of the data, and so the bytes that one
	// read deadline (dataTimeout) covers on a slow link.
	readChunk = 64 << 10
	// spoolPrefix names the spool files, so start-up removes only them.
	spoolPrefix = "smtpd-data-"
)

// errSpool marks a failure of the spool file (disk full, data_dir not
// writable): the server's problem, answered with a temporary error.
var errSpool = errors.New("spool file")

// spool is one message's data, checked as it arrives.
type spool struct {
	dir string
	// buf holds the message while it fits; once it is in file, buf is
	// a small buffer each read goes through on its way there.
	buf  []byte
	file *os.File // nil while the message is in buf; already unlinked
	size int64    // bytes in file
	line lineCheck
	// head replaces the first skip bytes of file: the header section
	// after replaceHeader.
	head []byte
	skip int64
}

// readSpool reads the data until the end of data. A message with a bare
// CR or LF or a NUL is refused (an *smtp.SMTPError) as soon as the byte
// arrives: go-smtp reads and discards the rest. The caller closes the
// spool it returns.
func readSpool(r io.Reader, dir string) (*spool, error) {
	sp := &spool{dir: dir, buf: make([]byte, 0, bodyBufSize)}
	for {
		p, err := sp.next()
		if err != nil {
			sp.Close()
			return nil, err
		}
		n, rerr := r.Read(p)
		if serr := sp.line.scan(p[:n]); serr != nil {
			sp.Close()
			return nil, serr
		}
		if err := sp.keep(p[:n]); err != nil {
			sp.Close()
			return nil, err
		}
		if rerr == io.EOF {
			if serr := sp.line.end(); serr != nil {
				sp.Close()
				return nil, serr
			}
			return sp, nil
		}
		if rerr != nil {
			sp.Close()
			return nil, rerr
		}
	}
}

// next returns the buffer the next read fills, growing buf while the
// message fits in memory and moving it to a file when it no longer does.
func (sp *spool) next() ([]byte, error) {
	if sp.file == nil && len(sp.buf) == cap(sp.buf) {
		if cap(sp.buf) >= spoolMem {
			if err := sp.spill(); err != nil {
				return nil, err
			}
		} else {
			grown := make([]byte, len(sp.buf), min(2*cap(sp.buf), spoolMem))
			copy(grown, sp.buf)
			sp.buf = grown
		}
	}
	if sp.file != nil {
		return sp.buf, nil
	}
	return sp.buf[len(sp.buf):min(cap(sp.buf), len(sp.buf)+readChunk)], nil
}

// keep stores what a read brought: in buf it is there already.
func (sp *spool) keep(p []byte) error {
	if sp.file == nil {
		sp.buf = sp.buf[:len(sp.buf)+len(p)]
		return nil
	}
	if _, err := sp.file.Write(p); err != nil {
		return fmt.Errorf("%w: %w", errSpool, err)
	}
	sp.size += int64(len(p))
	return nil
}

// spill moves the message from buf to a new file. The file is unlinked
// at once: it lives as long as the session holds it open, and a crash
// leaves nothing behind.
func (sp *spool) spill() error {
	f, err := os.CreateTemp(sp.dir, spoolPrefix+"*")
	if errors.Is(err, os.ErrNotExist) {
		if err = os.MkdirAll(sp.dir, 0o700); err == nil {
			f, err = os.CreateTemp(sp.dir, spoolPrefix+"*")
		}
	}
	if err != nil {
		return fmt.Errorf("%w: %w", errSpool, err)
	}
	os.Remove(f.Name())
	sp.file = f
	if err := sp.keep(sp.buf); err != nil {
		return err
	}
	// The session may wait long for the rest and for the commit: it
	// keeps only a read buffer.
	sp.buf = make([]byte, readChunk)
	return nil
}

// Len is the message's size.
func (sp *spool) Len() int64 {
	if sp.file != nil {
		return int64(len(sp.head)) + sp.size - sp.skip
	}
	return int64(len(sp.buf))
}

// header returns the message's header section as it arrived, or nil
// when it is longer than maxHeader.
func (sp *spool) header() ([]byte, error) {
	msg := sp.buf
	if sp.file != nil {
		msg = make([]byte, min(sp.size, maxHeader+1))
		if _, err := sp.file.ReadAt(msg, 0); err != nil {
			return nil, fmt.Errorf("%w: %w", errSpool, err)
		}
	}
	n := headerEnd(msg)
	if n < 0 {
		return nil, nil
	}
	return msg[:n:n], nil
}

// original reads the whole message as it arrived.
func (sp *spool) original() io.Reader {
	if sp.file != nil {
		return io.NewSectionReader(sp.file, 0, sp.size)
	}
	return bytes.NewReader(sp.buf)
}

// replaceHeader puts h in place of the first n bytes of the message.
func (sp *spool) replaceHeader(n int, h []byte) {
	if sp.file != nil {
		sp.head, sp.skip = h, int64(n)
		return
	}
	sp.buf = concat(h, sp.buf[n:])
}

// stored is the message for the store with trace in front of it.
func (sp *spool) stored(trace []byte) store.Spooled {
	return store.Spooled{Head: concat(trace, sp.head),
		File: io.NewSectionReader(sp.file, sp.skip, sp.size-sp.skip), Size: sp.size - sp.skip}
}

// Close releases the spool file, if any.
func (sp *spool) Close() {
	if sp.file != nil {
		sp.file.Close()
		sp.file = nil
	}
}

// cleanSpoolDir creates data_dir/tmp and removes spool files a previous
// run left (only a crash between creating and unlinking one can).
func cleanSpoolDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("spool directory: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("spool directory: %w", err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), spoolPrefix) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("spool directory: %w", err)
			}
		}
	}
	return nil
}

// lineCheck refuses a bare CR or LF (SMTP smuggling: another server may
// read "\n.\n" as the end of data and the rest as new commands) and NUL
// bytes, in data that arrives in pieces. go-smtp has already removed
// dot-stuffing and recognises only CRLF.CRLF as the end.
type lineCheck struct {
	cr bool // the last piece ended in CR
}

func (l *lineCheck) scan(p []byte) *smtp.SMTPError {
	for _, c := range p {
		if l.cr {
			if c != '\n' {
				return errBareLineEnd
			}
			l.cr = false
			continue
		}
		if c > '\r' { // most bytes
			continue
		}
		switch c {
		case '\r':
			l.cr = true
		case '\n':
			return errBareLineEnd
		case 0:
			return errNUL
		}
	}
	return nil
}

// end checks the end of the data: a CR at the very end is bare.
func (l *lineCheck) end() *smtp.SMTPError {
	if l.cr {
		return errBareLineEnd
	}
	return nil
}

// checkData applies lineCheck to a whole message.
func checkData(b []byte) *smtp.SMTPError {
	var l lineCheck
	if err := l.scan(b); err != nil {
		return err
	}
	return l.end()
}
