package main

import (
	"github.com/emersion/go-imap/v2"
)

// item is a message as this session sees it: its sequence number in the
// client's view and its UID.
type item struct {
	seq uint32
	uid uint32
}

// resolve turns a sequence or UID set into the messages it names, in
// order, as the client sees them. Messages the client has not been told
// about yet (their EXISTS is still queued) are left out, as are numbers
// that name nothing; "*" is the last message (RFC 3501 6.4.8 also lets
// "n:*" name the last one when n is beyond it).
func (sel *selected) resolve(numSet imap.NumSet) []item {
	if imap.IsSearchRes(numSet) {
		numSet = sel.searchRes
	}
	m := sel.mbox
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []item
	switch set := numSet.(type) {
	case imap.SeqSet:
		set = staticSeqSet(set, sel.clientMaxLocked())
		for i, uid := range m.uids {
			seq := sel.tracker.EncodeSeqNum(uint32(i + 1))
			if seq != 0 && set.Contains(seq) {
				out = append(out, item{seq, uid})
			}
		}
	case imap.UIDSet:
		max := m.maxUID
		if n := len(m.uids); n > 0 {
			max = m.uids[n-1]
		}
		set = staticUIDSet(set, max)
		for i, uid := range m.uids {
			if !set.Contains(imap.UID(uid)) {
				continue
			}
			if seq := sel.tracker.EncodeSeqNum(uint32(i + 1)); seq != 0 {
				out = append(out, item{seq, uid})
			}
		}
	}
	return out
}

// clientMaxLocked is the highest sequence number the client knows of that
// still exists. The caller holds sel.mbox.mu.
func (sel *selected) clientMaxLocked() uint32 {
	for i := len(sel.mbox.uids); i > 0; i-- {
		if seq := sel.tracker.EncodeSeqNum(uint32(i)); seq != 0 {
			return seq
		}
	}
	return 0
}

func uidsOf(items []item) []uint32 {
	out := make([]uint32, len(items))
	for i, it := range items {
		out[i] = it.uid
	}
	return out
}

// staticSeqSet replaces "*" (0) in a copy of set by max.
func staticSeqSet(set imap.SeqSet, max uint32) imap.SeqSet {
	out := make(imap.SeqSet, len(set))
	for i, r := range set {
		staticRange(&r.Start, &r.Stop, max)
		out[i] = r
	}
	return out
}

func staticUIDSet(set imap.UIDSet, max uint32) imap.UIDSet {
	out := make(imap.UIDSet, len(set))
	for i, r := range set {
		start, stop := uint32(r.Start), uint32(r.Stop)
		staticRange(&start, &stop, max)
		out[i] = imap.UIDRange{Start: imap.UID(start), Stop: imap.UID(stop)}
	}
	return out
}

func staticRange(start, stop *uint32, max uint32) {
	if *start == 0 {
		*start = max
	}
	if *stop == 0 {
		*stop = max
	}
	if *start > *stop {
		*start, *stop = *stop, *start
	}
}
