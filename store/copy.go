package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// CopyTo copies every row of this store into dst, an empty PostgreSQL
// store, keeping every key as it is: UIDVALIDITY, UIDs, message ids,
// flags, grants, credentials, the queue and the change log. It is how
// an operator moves a single host's SQLite store to PostgreSQL
// (mailctl store copy), so POP3 UIDLs and IMAP UIDs do not change and no
// client downloads its mail again.
//
// The source is read in one read transaction (a consistent snapshot even
// if daemons still run); the destination is written in one transaction,
// so a failed copy leaves it empty. Triggers are off during the copy:
// they would log changes and count usage a second time, while those rows
// come from the source as they are. progress, if not nil, is called after
// each table with the number of rows copied.
func (s *Store) CopyTo(ctx context.Context, dst *Store, progress func(table string, rows int64)) error {
	if !dst.postgres() {
		return fmt.Errorf("store copy: the destination must be a PostgreSQL store, not %s", dst.Driver())
	}
	src, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("store copy: read %s: %w", s.path, err)
	}
	defer src.Rollback()
	tables, err := s.dataTables(ctx, src)
	if err != nil {
		return err
	}
	if err := dst.checkDataTables(ctx, tables); err != nil {
		return err
	}
	return dst.write(ctx, func(tx *sql.Tx) error {
		if err := requireEmpty(ctx, tx); err != nil {
			return err
		}
		if err := setTriggers(ctx, tx, tables, false); err != nil {
			return err
		}
		// Rows the destination's migration wrote (meta) give way to the
		// source's; children first, for the foreign keys.
		for i := len(tables) - 1; i >= 0; i-- {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+quoteIdent(tables[i].name)); err != nil {
				return fmt.Errorf("store copy: clear %s: %w", tables[i].name, err)
			}
		}
		for _, t := range tables {
			n, err := copyTable(ctx, src, tx, t)
			if err != nil {
				return err
			}
			if progress != nil {
				progress(t.name, n)
			}
		}
		if err := setTriggers(ctx, tx, tables, true); err != nil {
			return err
		}
		return resetSequences(ctx, tx)
	})
}

// requireEmpty refuses a destination that already holds mail or accounts:
// a copy merges nothing, it replaces.
func requireEmpty(ctx context.Context, tx *sql.Tx) error {
	for _, t := range []string{"domains", "users", "messages", "queue"} {
		var n int64
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+t).Scan(&n); err != nil {
			return fmt.Errorf("store copy: count %s in the destination: %w", t, err)
		}
		if n > 0 {
			return fmt.Errorf("store copy: the destination is not empty (%d rows in %s): copy into a new database", n, t)
		}
	}
	return nil
}

// copyTable copies one table's rows, converting text and bytes to what
// each destination column holds (SQLite keeps either in any column).
func copyTable(ctx context.Context, src, dst *sql.Tx, t table) (int64, error) {
	names := make([]string, len(t.cols))
	marks := make([]string, len(t.cols))
	for i, c := range t.cols {
		names[i], marks[i] = quoteIdent(c.name), "?"
	}
	list := strings.Join(names, ", ")
	rows, err := src.QueryContext(ctx, "SELECT "+list+" FROM "+quoteIdent(t.name))
	if err != nil {
		return 0, fmt.Errorf("store copy: read %s: %w", t.name, err)
	}
	defer rows.Close()
	ins, err := dst.PrepareContext(ctx, "INSERT INTO "+quoteIdent(t.name)+" ("+list+") VALUES ("+strings.Join(marks, ", ")+")")
	if err != nil {
		return 0, fmt.Errorf("store copy: %s: %w", t.name, err)
	}
	defer ins.Close()
	vals := make([]any, len(t.cols))
	ptrs := make([]any, len(t.cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, fmt.Errorf("store copy: read %s: %w", t.name, err)
		}
		for i, c := range t.cols {
			vals[i] = c.convert(vals[i])
		}
		if _, err := ins.ExecContext(ctx, vals...); err != nil {
			return n, fmt.Errorf("store copy: write %s row %d: %w", t.name, n+1, err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("store copy: read %s: %w", t.name, err)
	}
	return n, nil
}

// setTriggers turns the tables' own triggers off or on, inside the copy's
// transaction: nobody else ever sees them off. Constraint triggers (the
// foreign keys) stay on.
func setTriggers(ctx context.Context, tx *sql.Tx, tables []table, on bool) error {
	verb := "DISABLE"
	if on {
		verb = "ENABLE"
	}
	for _, t := range tables {
		if _, err := tx.ExecContext(ctx, "ALTER TABLE "+quoteIdent(t.name)+" "+verb+" TRIGGER USER"); err != nil {
			return fmt.Errorf("store copy: %s triggers of %s: %w", strings.ToLower(verb), t.name, err)
		}
	}
	return nil
}

// resetSequences moves each identity column's sequence past the copied
// ids, so the next row the daemons insert gets a new one.
func resetSequences(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')`)
	if err != nil {
		return fmt.Errorf("store copy: list sequences: %w", err)
	}
	var cols [][2]string
	for rows.Next() {
		var t, c string
		if err := rows.Scan(&t, &c); err != nil {
			rows.Close()
			return err
		}
		cols = append(cols, [2]string{t, c})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, tc := range cols {
		q := fmt.Sprintf(`SELECT setval(pg_get_serial_sequence(?, ?), coalesce((SELECT max(%s) FROM %s), 0) + 1, false)`,
			quoteIdent(tc[1]), quoteIdent(tc[0]))
		if _, err := tx.ExecContext(ctx, q, tc[0], tc[1]); err != nil {
			return fmt.Errorf("store copy: sequence of %s.%s: %w", tc[0], tc[1], err)
		}
	}
	return nil
}

// checkDataTables makes sure this store has every table of the source
// with every column: both must be at the same schema version.
func (s *Store) checkDataTables(ctx context.Context, want []table) error {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	have, err := s.dataTables(ctx, tx)
	if err != nil {
		return err
	}
	byName := make(map[string]table, len(have))
	for _, t := range have {
		byName[t.name] = t
	}
	var missing []string
	for i, t := range want {
		h, ok := byName[t.name]
		if !ok {
			missing = append(missing, t.name)
			continue
		}
		for j, c := range t.cols {
			hc, ok := h.column(c.name)
			if !ok {
				missing = append(missing, t.name+"."+c.name)
				continue
			}
			want[i].cols[j].bytes = hc.bytes // convert to what the destination holds
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("store copy: the destination lacks %s: are both stores at the same schema version?", strings.Join(missing, ", "))
	}
	return nil
}
