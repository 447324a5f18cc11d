package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"mailsuite/store"
)

// userQuota shows a user's usage and quota, or with SIZE sets the user's
// own storage quota: "500M", "2G", "0" or "none" (unlimited), "default"
// (back to quota.default_storage).
func userQuota(ctx context.Context, e *env, args []string) error {
	addr, err := store.CanonAddress(args[0])
	if err != nil {
		return err
	}
	if len(args) == 2 {
		limit, err := parseSize(args[1])
		if err != nil {
			return usagef("user quota: %v", err)
		}
		err = e.st.SetUserQuota(ctx, addr, limit)
		if errors.Is(err, store.ErrNotFound) {
			return unknownUser(addr)
		}
		if err != nil {
			return err
		}
	}
	u, err := findUser(ctx, e.st, addr)
	if err != nil {
		return err
	}
	r, err := newUserRow(ctx, e.st, u)
	if err != nil {
		return err
	}
	return record(e.stdout, append([]string{r.Address}, r.usage()...)...)
}

// userRow is one line of "user list": the user and their usage.
type userRow struct {
	Address      string `json:"address"`
	SMTP         bool   `json:"smtp"`          // SMTP authority
	Used         int64  `json:"used"`          // bytes of stored mail
	Quota        int64  `json:"quota"`         // bytes, 0: unlimited
	QuotaDefault bool   `json:"quota_default"` // Quota is quota.default_storage
	Messages     int64  `json:"messages"`
}

func newUserRow(ctx context.Context, st *store.Store, u store.User) (userRow, error) {
	q, err := st.UserQuota(ctx, u.ID)
	if err != nil {
		return userRow{}, err
	}
	return userRow{Address: u.Address, SMTP: u.SMTP, Used: q.Bytes, Quota: q.StorageLimit,
		QuotaDefault: !q.Own, Messages: q.Messages}, nil
}

func (r userRow) fields() []string {
	return append([]string{r.Address, "smtp=" + onOff(r.SMTP)}, r.usage()...)
}

// usage is the usage columns: used=SIZE, quota=SIZE|unlimited (with
// " (default)" when it is the configured one), messages=N.
func (r userRow) usage() []string {
	limit := "unlimited"
	if r.Quota > 0 {
		limit = formatSize(r.Quota)
	}
	if r.QuotaDefault {
		limit += " (default)"
	}
	return []string{"used=" + formatSize(r.Used), "quota=" + limit, "messages=" + strconv.FormatInt(r.Messages, 10)}
}

// sizeUnits are the suffixes of sizes, powers of 1024 as in "1G" = 1 GiB.
var sizeUnits = []string{"K", "M", "G", "T"}

// parseSize reads a quota: a byte count, optionally with K, M, G or T
// (powers of 1024, an optional trailing "B" or "iB"); "0", "none" and
// "unlimited" are 0 (no limit); "default" is -1 (the configured default).
func parseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	switch t {
	case "NONE", "UNLIMITED":
		return 0, nil
	case "DEFAULT":
		return -1, nil
	}
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	mult := int64(1)
	for i, u := range sizeUnits {
		if strings.HasSuffix(t, u) {
			t, mult = strings.TrimSuffix(t, u), int64(1)<<(10*(i+1))
			break
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || t == "" || strings.ContainsAny(t, "+-ENX_") || n < 0 || n*float64(mult) >= math.MaxInt64 {
		return 0, fmt.Errorf("bad SIZE %q: want e.g. 500M, 2G, 1048576, 0 or none (unlimited), default", s)
	}
	return int64(n * float64(mult)), nil
}

// formatSize prints bytes with the largest unit that leaves at least 1,
// to one decimal: 1536 is "1.5K", 1073741824 is "1G", 999 is "999".
func formatSize(n int64) string {
	unit, div := "", int64(1)
	for i, u := range sizeUnits {
		if n >= int64(1)<<(10*(i+1)) {
			unit, div = u, int64(1)<<(10*(i+1))
		}
	}
	if div == 1 {
		return strconv.FormatInt(n, 10)
	}
	return strconv.FormatFloat(math.Floor(float64(n)/float64(div)*10)/10, 'f', -1, 64) + unit
}
