package main

import (
	"context"
	"slices"
	"time"

	"mailsuite/store"
)

// msgMeta is what a mailbox's shared view keeps of a message besides its
// UID: its flags and mod-sequence as the last sync read them (in one
// snapshot, see hub.apply), and its size and date, which never change.
// FETCH of metadata and EXPUNGE answer from it once a sync has applied
// every change committed before the command, as Dovecot answers from its
// index, instead of reading the rows of the mailbox again.
type msgMeta struct {
	flags  []string
	modSeq uint64
	size   int64
	date   int64
}

func metaOf(m *store.Message) msgMeta {
	return msgMeta{flags: m.Flags, modSeq: m.ModSeq, size: m.Size, date: m.InternalDate.Unix()}
}

// viewMessages returns the metadata of items, in their order, as the
// view has it after a sync: every change committed before the call is
// in it. A message expunged meanwhile is left out, as a read of the
// store would leave it out.
func (s *session) viewMessages(ctx context.Context, items []item) ([]store.Message, error) {
	if err := s.syncView(ctx); err != nil {
		return nil, err
	}
	m := s.sel.mbox
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]store.Message, 0, len(items))
	for _, it := range items {
		i, ok := slices.BinarySearch(m.uids, it.uid)
		if !ok {
			continue
		}
		mt := &m.meta[i]
		out = append(out, store.Message{MailboxID: m.id, UID: it.uid, Flags: mt.flags, ModSeq: mt.modSeq,
			Size: mt.size, InternalDate: time.Unix(mt.date, 0)})
	}
	return out, nil
}

// deletedOf returns the UIDs of the messages of items that have \Deleted,
// as the view has them after a sync: the candidates of an EXPUNGE, whose
// write checks the flag again (store.ExpungeDeleted).
func (s *session) deletedOf(ctx context.Context, items []item) ([]uint32, error) {
	msgs, err := s.viewMessages(ctx, items)
	if err != nil {
		return nil, err
	}
	var out []uint32
	for _, msg := range msgs {
		if slices.Contains(msg.Flags, `\Deleted`) {
			out = append(out, msg.UID)
		}
	}
	return out, nil
}

// syncView brings the mailbox's view up to every change committed so far
// and notes that it is current for the command being run: the sync Poll
// makes after a command is skipped when the command's last store access
// was this one. So a command that writes after it must call it again (as
// FETCH does after setting \Seen, in dropTold), and a command's answer
// still covers every change committed before the command began.
func (s *session) syncView(ctx context.Context) error {
	err := s.srv.hub.sync(ctx)
	s.fresh = err == nil
	return err
}
