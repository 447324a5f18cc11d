package store

// The store's backends. Until the PostgreSQL backend is merged, every
// store is SQLite; this file goes when it lands.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Driver is the store's backend: DriverSQLite or DriverPostgres.
func (s *Store) Driver() string { return DriverSQLite }

// DSN is the PostgreSQL connection string ("" for SQLite).
func (s *Store) DSN() string { return "" }
