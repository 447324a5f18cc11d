package main

// dovecotScripts are the command scripts of the differential test against
// Dovecot (dovecot_test.go). Each runs logged in on a fresh account that
// has INBOX, Sent, Drafts, Trash and Junk.
var dovecotScripts = []diffCase{
	{name: "select", cmds: []string{
		literalCmd(`APPEND INBOX (\Seen) "02-Jan-2006 15:04:05 +0000"`, testMessage("one")),
		literalCmd(`APPEND INBOX "03-Jan-2006 15:04:05 +0000"`, testMessage("two")),
		"STATUS INBOX (MESSAGES RECENT UIDNEXT UNSEEN)",
		"EXAMINE INBOX",
		"FETCH 1:* (FLAGS)",
		"CLOSE",
		"STATUS INBOX (MESSAGES RECENT UNSEEN)",
		"SELECT INBOX",
		"FETCH 1:* (FLAGS)",
		"SEARCH RECENT",
		"SEARCH NEW",
		"SEARCH OLD",
		"STATUS INBOX (RECENT)",
		literalCmd(`APPEND INBOX "04-Jan-2006 15:04:05 +0000"`, testMessage("three")),
		"NOOP",
		"SEARCH RECENT",
		"UNSELECT",
		"SELECT INBOX",
		"SEARCH RECENT",
		"CLOSE",
		"EXAMINE Nope",
		"SELECT Trash",
		"STATUS Trash (MESSAGES UIDNEXT UNSEEN RECENT)",
	}, want: map[string]string{
		// A code says why, where Dovecot gives only text.
		"EXAMINE Nope": "NO [NONEXISTENT]",
	}},
	{name: "fetch", cmds: []string{
		literalCmd(`APPEND INBOX "02-Jan-2006 15:04:05 +0000"`, testMessage("one")),
		literalCmd(`APPEND INBOX "03-Jan-2006 15:04:05 +0000"`, []byte(oddHeaders)),
		"SELECT INBOX",
		"FETCH 1:* (UID RFC822.SIZE ENVELOPE INTERNALDATE FLAGS)",
		"FETCH 2 (BODY.PEEK[HEADER.FIELDS (Subject Message-ID)])",
		"FETCH 2 (BODY.PEEK[HEADER.FIELDS.NOT (Subject)])",
		"FETCH 1 (BODY.PEEK[TEXT]<0.5> RFC822.HEADER)",
		"FETCH 1 (BODYSTRUCTURE)",
		"FETCH 1 (BODY[])",
		"FETCH 1 (FLAGS)",
		"UID FETCH 1:* (UID FLAGS)",
		"FETCH 3 (UID)",
		"UID FETCH 100:* (UID)",
	}, want: map[string]string{
		// ENVELOPE re-encodes encoded words (Dovecot passes them as they
		// are) and lists the items in another order: today's answer.
		"FETCH 1:* (UID RFC822.SIZE ENVELOPE INTERNALDATE FLAGS)": `* 1 FETCH (FLAGS (\Recent) INTERNALDATE "D" RFC822.SIZE 149 ENVELOPE ("Mon, 02 Jan 2006 15:04:05 +0000" "one" (("Bob" NIL "bob" "example.org")) (("Bob" NIL "bob" "example.org")) (("Bob" NIL "bob" "example.org")) ((NIL NIL "alice" "example.com")) NIL NIL NIL "<one@example.org>")) | * 2 FETCH (FLAGS (\Recent) INTERNALDATE "D" RFC822.SIZE 282 ENVELOPE (NIL "=?utf-8?q?caf=C3=A9_and_folded?=" (("=?utf-8?q?J=C3=BCrgen?=" NIL "jurgen" "example.org")) (("=?utf-8?q?J=C3=BCrgen?=" NIL "jurgen" "example.org")) (("=?utf-8?q?J=C3=BCrgen?=" NIL "jurgen" "example.org")) ((NIL NIL "undisclosed-recipients" NIL) (NIL NIL "user-from" "domain.org") ("Quoted, Name" NIL "q" "example.org") (NIL NIL NIL NIL)) ((NIL NIL "carol" "example.net") (NIL NIL "dave" "example.net")) NIL NIL "<odd@example.org>")) | OK`,
		// A sequence number beyond the mailbox names nothing here; Dovecot
		// calls it a client error.
		"FETCH 3 (UID)": "OK",
	}},
	{name: "search", cmds: []string{
		literalCmd(`APPEND INBOX (\Seen) "02-Jan-2006 15:04:05 +0000"`, testMessage("one")),
		literalCmd(`APPEND INBOX (\Flagged) "03-Jan-2006 15:04:05 +0000"`, []byte(oddHeaders)),
		literalCmd(`APPEND INBOX "04-Jan-2006 15:04:05 +0000"`, testMessage("three")),
		"SELECT INBOX",
		"SEARCH ALL",
		"SEARCH SEEN",
		"SEARCH UNSEEN",
		"SEARCH FLAGGED",
		"SEARCH FROM bob@example.org",
		"SEARCH FROM user-from@domain.org",
		"SEARCH TO undisclosed",
		"SEARCH CC carol",
		"SEARCH FROM Bob",
		literalCmd("SEARCH CHARSET UTF-8 SUBJECT", []byte("café")),
		"SEARCH SUBJECT three",
		"SEARCH BODY hello",
		"SEARCH TEXT three",
		"SEARCH OR SEEN FLAGGED",
		"SEARCH NOT SEEN",
		"SEARCH SINCE 03-Jan-2006",
		"SEARCH BEFORE 03-Jan-2006",
		"SEARCH LARGER 200",
		"SEARCH HEADER Message-ID three",
		"UID SEARCH 2:*",
		"SEARCH 2,3 UNSEEN",
	}},
	{name: "store", cmds: []string{
		literalCmd(`APPEND INBOX "02-Jan-2006 15:04:05 +0000"`, testMessage("one")),
		literalCmd(`APPEND INBOX "03-Jan-2006 15:04:05 +0000"`, testMessage("two")),
		"SELECT INBOX",
		`STORE 1 +FLAGS (\Flagged)`,
		`STORE 1 +FLAGS ($keyword1)`,
		`STORE 2 FLAGS (\Seen $Other)`,
		`STORE 1:2 -FLAGS.SILENT ($keyword1)`,
		`UID STORE 2 +FLAGS.SILENT (\Answered)`,
		"FETCH 1:* (FLAGS)",
		`STORE 1 +FLAGS (NIL)`,
		"SEARCH KEYWORD $Other",
		"SEARCH UNKEYWORD $Other",
	}, want: map[string]string{
		// NIL is not a flag: Dovecot takes it for a keyword called NIL.
		"STORE 1 +FLAGS (NIL)": "BAD",
	}},
	{name: "copy-move-expunge", cmds: []string{
		literalCmd(`APPEND INBOX "02-Jan-2006 15:04:05 +0000"`, testMessage("one")),
		literalCmd(`APPEND INBOX "03-Jan-2006 15:04:05 +0000"`, testMessage("two")),
		literalCmd(`APPEND INBOX "04-Jan-2006 15:04:05 +0000"`, testMessage("three")),
		"SELECT INBOX",
		"COPY 1:2 Trash",
		"COPY 1 Nope",
		"STATUS Trash (MESSAGES UIDNEXT)",
		"COPY 3 INBOX",
		"MOVE 1 INBOX",
		"FETCH 1:* (UID)",
		"MOVE 2 Junk",
		`UID STORE 3 +FLAGS.SILENT (\Deleted)`,
		"UID EXPUNGE 1:2",
		"EXPUNGE",
		"FETCH 1:* (UID)",
		"EXAMINE Junk",
		"EXPUNGE",
		"CLOSE",
		"SELECT Junk",
		`STORE 1 +FLAGS.SILENT (\Deleted)`,
		"CLOSE",
		"STATUS Junk (MESSAGES)",
	}, want: map[string]string{
		// The same final state; imapd announces the copy before the
		// expunge, Dovecot after.
		"MOVE 1 INBOX": "* 1 EXPUNGE | * 5 EXISTS | * OK [COPYUID V 1 5] | OK",
	}},
	{name: "list", cmds: []string{
		"CREATE a/b/c",
		"DELETE a/b",
		"DELETE a",
		"CREATE x/y",
		"DELETE x",
		"CREATE sub",
		"SUBSCRIBE a/b/c",
		"SUBSCRIBE sub",
		"DELETE sub",
		`LIST "" *`,
		`LIST "" %`,
		`LIST "" a/%`,
		`LIST a/ %`,
		`LIST "" ""`,
		`LSUB "" *`,
		`LSUB "" %`,
		`LIST (SUBSCRIBED) "" *`,
		`LIST (SUBSCRIBED RECURSIVEMATCH) "" %`,
		`LIST "" % RETURN (CHILDREN)`,
		`LIST "" * RETURN (SUBSCRIBED)`,
		`LIST "" % RETURN (CHILDREN SUBSCRIBED)`,
		`LIST (SPECIAL-USE) "" *`,
		`LIST "" "!#$&'+,-.0123456789:;<=>?@^_` + "`" + `|}%*"`,
		`LIST "" (INBOX Trash)`,
		`LIST "" * RETURN (STATUS (MESSAGES UNSEEN))`,
	}, want: map[string]string{
		// CREATE makes the superior names as mailboxes (RFC 3501 6.3.3
		// SHOULD), Dovecot does not: deleting them leaves the same tree.
		"DELETE a/b": "OK",
		"DELETE a":   "OK",
		"DELETE x":   "OK",
	}},
}

// oddHeaders is a message with headers that trip parsers: an address
// group, an encoded display name and subject, folded fields, no Date.
const oddHeaders = "From: =?UTF-8?Q?J=C3=BCrgen?= <jurgen@example.org>\r\n" +
	"To: undisclosed-recipients: user-from@domain.org, \"Quoted, Name\" <q@example.org>;\r\n" +
	"Cc: carol@example.net,\r\n  dave@example.net\r\n" +
	"Subject: =?ISO-8859-1?Q?caf=E9?= and\r\n  folded\r\n" +
	"Message-ID: <odd@example.org>\r\n" +
	"\r\n" +
	"Body of the odd one.\r\n"
