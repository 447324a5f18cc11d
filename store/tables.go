package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// table is one data table as store copy and store check see it: its
// columns in the order of the schema.
type table struct {
	name string
	cols []column
}

// column is one column, and whether its values are bytes (BLOB, bytea)
// rather than numbers or text.
type column struct {
	name  string
	bytes bool
}

func (t table) column(name string) (column, bool) {
	for _, c := range t.cols {
		if c.name == name {
			return c, true
		}
	}
	return column{}, false
}

// convert makes a value read from either backend fit this column:
// SQLite returns whatever storage class a row holds, PostgreSQL wants
// bytes for bytea and strings for text.
func (c column) convert(v any) any {
	switch x := v.(type) {
	case string:
		if c.bytes {
			return []byte(x)
		}
	case []byte:
		if !c.bytes {
			return string(x)
		}
		return append([]byte(nil), x...)
	}
	return v
}

// bookkeeping tables record the schema version; each backend keeps its
// own, so they are neither copied nor compared.
var bookkeeping = map[string]bool{"schema_version": true, "schema_migrations": true}

// dataTables lists the store's tables with their columns, parents before
// children (by foreign key), so rows can be inserted in that order.
func (s *Store) dataTables(ctx context.Context, q querier) ([]table, error) {
	cat := sqliteCatalog
	if s.postgres() {
		cat = postgresCatalog
	}
	names, err := queryStrings(ctx, q, cat.tables)
	if err != nil {
		return nil, fmt.Errorf("store: list tables: %w", err)
	}
	parents := make(map[string][]string)
	var tables []table
	for _, name := range names {
		if bookkeeping[name] {
			continue
		}
		t := table{name: name}
		rows, err := q.QueryContext(ctx, cat.columns, name)
		if err != nil {
			return nil, fmt.Errorf("store: columns of %s: %w", name, err)
		}
		for rows.Next() {
			var c, typ string
			if err := rows.Scan(&c, &typ); err != nil {
				rows.Close()
				return nil, err
			}
			typ = strings.ToLower(typ)
			t.cols = append(t.cols, column{name: c, bytes: typ == "blob" || typ == "bytea"})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if parents[name], err = queryStrings(ctx, q, cat.parents, name); err != nil {
			return nil, fmt.Errorf("store: foreign keys of %s: %w", name, err)
		}
		tables = append(tables, t)
	}
	if len(tables) == 0 {
		return nil, errors.New("store: no tables found")
	}
	return parentsFirst(tables, parents), nil
}

// parentsFirst orders tables so that every table comes after the tables
// its foreign keys point to; ties by name, so the order is stable.
func parentsFirst(tables []table, parents map[string][]string) []table {
	sort.Slice(tables, func(i, j int) bool { return tables[i].name < tables[j].name })
	done := make(map[string]bool)
	var out []table
	var visit func(t table)
	byName := make(map[string]table)
	for _, t := range tables {
		byName[t.name] = t
	}
	visit = func(t table) {
		if done[t.name] {
			return
		}
		done[t.name] = true
		for _, p := range parents[t.name] {
			if pt, ok := byName[p]; ok && p != t.name {
				visit(pt)
			}
		}
		out = append(out, t)
	}
	for _, t := range tables {
		visit(t)
	}
	return out
}

// catalog is how one backend lists its tables, columns and foreign keys.
type catalog struct{ tables, columns, parents string }

var sqliteCatalog = catalog{
	tables:  `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`,
	columns: `SELECT name, type FROM pragma_table_info(?) ORDER BY cid`,
	parents: `SELECT DISTINCT "table" FROM pragma_foreign_key_list(?)`,
}

var postgresCatalog = catalog{
	tables: `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`,
	columns: `SELECT column_name, data_type FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position`,
	parents: `SELECT DISTINCT ccu.table_name FROM information_schema.table_constraints tc
		JOIN information_schema.constraint_column_usage ccu
			ON ccu.constraint_name = tc.constraint_name AND ccu.constraint_schema = tc.constraint_schema
		WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema() AND tc.table_name = ?`,
}

func queryStrings(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// quoteIdent quotes a table or column name taken from the schema itself
// (never from input) for use in generated SQL.
func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
