package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestImportKeepsUIDsAndNeverReusesOne(t *testing.T) {
	st := openTest(t)
	ctx := context.Background()
	uid := seed(t, st).ID
	damaged := true
	in := ImportMailbox{Name: "Work", UIDValidity: 42, UIDNext: 10, Messages: []ImportMessage{
		{UID: 3, Body: []byte("Subject: 3\r\n\r\n"), Date: time.Unix(1e9, 0)},
		{UID: 5, Read: func() ([]byte, error) {
			if damaged {
				return nil, errors.New("damaged")
			}
			return []byte("Subject: 5\r\n\r\n"), nil
		}},
		{Body: []byte("Subject: new\r\n\r\n")},
	}}
	res, err := st.Import(ctx, uid, in)
	if err != nil || res.Added != 2 || len(res.Damaged) != 1 {
		t.Fatalf("first import: %+v, %v", res, err)
	}
	mb, err := st.MailboxByName(ctx, uid, "Work")
	if err != nil || mb.UIDValidity != 42 || mb.UIDNext != 11 {
		t.Fatalf("mailbox %+v, %v: want UIDVALIDITY 42, UIDNEXT 11 (the new message took 10)", mb, err)
	}
	// Expunged UID 3 does not come back; repaired UID 5 does.
	if err := st.Expunge(ctx, mb.ID, []uint32{3}); err != nil {
		t.Fatal(err)
	}
	damaged = false
	if res, err = st.Import(ctx, uid, in); err != nil || res.Added != 1 || res.Skipped != 2 {
		t.Fatalf("second import: %+v, %v", res, err)
	}
	msgs, _ := st.Messages(ctx, mb.ID)
	if len(msgs) != 2 || msgs[0].UID != 5 || msgs[1].UID != 10 {
		t.Errorf("messages %+v, want UIDs 5 and 10", msgs)
	}
}
