package imap

// mailsuite: the QRESYNC parameters of SELECT and EXAMINE (RFC 7162
// section 3.2.5), which go-imap v2.0.0-beta.8 does not parse.

// SelectQResync is what a client knows of a mailbox it selects with
// QRESYNC: the server answers with the UIDs expunged since ModSeq
// (VANISHED (EARLIER)) and the messages changed since.
type SelectQResync struct {
	UIDValidity uint32
	ModSeq      uint64
	// KnownUIDs limits VANISHED (EARLIER) to these UIDs; nil means all.
	KnownUIDs UIDSet
	// KnownSeqNums and KnownSeqUIDs are the optional seq-match-data: the
	// UIDs of some sequence numbers, as the client last knew them.
	KnownSeqNums SeqSet
	KnownSeqUIDs UIDSet
}
