package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"strconv"
)

// TableSum is one table's row count and checksum.
type TableSum struct {
	Table string `json:"table"`
	Rows  int64  `json:"rows"`
	Sum   string `json:"sum"`
}

// Checksums counts and checksums every data table in one read snapshot,
// for mailctl store check. A table's sum depends only on its rows' values:
// not on their order, not on the column order, not on the backend, and
// not on whether SQLite kept a text as TEXT or BLOB. So a SQLite store and
// its PostgreSQL copy have the same sums exactly when they hold the same
// rows.
func (s *Store) Checksums(ctx context.Context) ([]TableSum, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("store check: %w", err)
	}
	defer tx.Rollback()
	tables, err := s.dataTables(ctx, tx)
	if err != nil {
		return nil, err
	}
	sort.Slice(tables, func(i, j int) bool { return tables[i].name < tables[j].name })
	sums := make([]TableSum, 0, len(tables))
	for _, t := range tables {
		sum, err := checksumTable(ctx, tx, t)
		if err != nil {
			return nil, err
		}
		sums = append(sums, sum)
	}
	return sums, nil
}

// checksumTable adds up a hash of each row (a multiset hash: order does
// not matter, a changed, missing or extra row changes the sum).
func checksumTable(ctx context.Context, tx *sql.Tx, t table) (TableSum, error) {
	cols := append([]column(nil), t.cols...)
	sort.Slice(cols, func(i, j int) bool { return cols[i].name < cols[j].name })
	list := ""
	for i, c := range cols {
		if i > 0 {
			list += ", "
		}
		list += quoteIdent(c.name)
	}
	rows, err := tx.QueryContext(ctx, "SELECT "+list+" FROM "+quoteIdent(t.name))
	if err != nil {
		return TableSum{}, fmt.Errorf("store check: read %s: %w", t.name, err)
	}
	defer rows.Close()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var hi, lo uint64
	var n int64
	buf := make([]byte, 0, 256)
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return TableSum{}, fmt.Errorf("store check: read %s: %w", t.name, err)
		}
		buf = buf[:0]
		for i, c := range cols {
			if buf, err = appendCanonical(buf, c.name, vals[i]); err != nil {
				return TableSum{}, fmt.Errorf("store check: %s.%s: %w", t.name, c.name, err)
			}
		}
		h := sha256.Sum256(buf)
		a, b := binary.BigEndian.Uint64(h[:8]), binary.BigEndian.Uint64(h[8:16])
		lo += b
		hi += a
		if lo < b {
			hi++
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return TableSum{}, fmt.Errorf("store check: read %s: %w", t.name, err)
	}
	return TableSum{Table: t.name, Rows: n, Sum: fmt.Sprintf("%016x%016x", hi, lo)}, nil
}

// appendCanonical appends one named value, length-prefixed, in a form
// both backends give alike: integers as decimal, text and bytes as bytes.
func appendCanonical(buf []byte, name string, v any) ([]byte, error) {
	var tag byte
	var b []byte
	switch x := v.(type) {
	case nil:
		tag = 'n'
	case int64:
		tag, b = 'i', strconv.AppendInt(nil, x, 10)
	case int32:
		tag, b = 'i', strconv.AppendInt(nil, int64(x), 10)
	case bool:
		tag, b = 'i', []byte{'0'}
		if x {
			b[0] = '1'
		}
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			tag, b = 'i', strconv.AppendInt(nil, int64(x), 10)
		} else {
			tag, b = 'f', strconv.AppendFloat(nil, x, 'g', -1, 64)
		}
	case string:
		tag, b = 'b', []byte(x)
	case []byte:
		tag, b = 'b', x
	default:
		return nil, fmt.Errorf("value of type %T", v)
	}
	buf = binary.AppendUvarint(buf, uint64(len(name)))
	buf = append(buf, name...)
	buf = append(buf, tag)
	buf = binary.AppendUvarint(buf, uint64(len(b)))
	return append(buf, b...), nil
}

// Integrity runs the checks a store must pass whatever its backend: the
// engine's own (SQLite's quick_check and foreign_key_check; PostgreSQL
// enforces its constraints itself), and that no message has a UID at or
// above its mailbox's UIDNEXT, which would make a UID be given twice.
func (s *Store) Integrity(ctx context.Context) error {
	if !s.postgres() {
		var res string
		if err := s.r.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&res); err != nil {
			return fmt.Errorf("quick_check: %w", err)
		}
		if res != "ok" {
			return fmt.Errorf("quick_check: %s", res)
		}
		rows, err := queryStrings(ctx, s.r, `SELECT "table" FROM pragma_foreign_key_check`)
		if err != nil {
			return fmt.Errorf("foreign_key_check: %w", err)
		}
		if len(rows) > 0 {
			return fmt.Errorf("foreign_key_check: %d rows point nowhere (first in %s)", len(rows), rows[0])
		}
	}
	var n int64
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
		WHERE m.uid >= b.uidnext`).Scan(&n)
	if err != nil {
		return fmt.Errorf("store check: %w", err)
	}
	if n > 0 {
		return fmt.Errorf("%d messages have a UID at or above their mailbox's UIDNEXT", n)
	}
	return nil
}
