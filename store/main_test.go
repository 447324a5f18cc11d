package store

import (
	"os"
	"testing"

	"mailsuite/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }
