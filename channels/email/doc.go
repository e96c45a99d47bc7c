// Package email is the email channel: it reads support mailboxes over IMAP
// (IDLE where offered, polling otherwise), turns each message into one
// channel.Inbound for the core, and sends agents' replies over SMTP as
// proper replies in the customer's thread.
//
// What it guarantees, and where:
//   - nothing lost, nothing doubled (mailbox.go): one gateway reads a
//     mailbox at a time under a Redis lease; each message is stored through
//     Core.Receive, which deduplicates by Message-ID (a hash of the headers
//     when there is none), before it is flagged \Seen and its UID is
//     checkpointed with the mailbox's UIDVALIDITY;
//   - threading (inbound.go): In-Reply-To, References and the
//     per-conversation reply address become the Inbound's ThreadHint; the
//     conversation service matches them against Message-IDs we sent and
//     received, scoped to the customer;
//   - no loops (loop.go): automatic answers go only to people, at most a few
//     an hour per sender, and carry Auto-Submitted: auto-replied;
//   - a reader that never waits for an acknowledgement (ackqueue.go): each
//     mailbox queues its acknowledgements and sends them beside its reader,
//     each within 10 s of its mail or not at all;
//   - bounces (parse.go, ingest.go): an RFC 3464 delivery report lands on the
//     message that bounced as a failed delivery, never a new conversation;
//   - display (view.go): what agents see of a mail is sanitized HTML or
//     text, with the quoted history split off and the original kept.
//
// The channel keeps its own Redis keys under sb:{ws}:email: (keys.go).
// docs/channels/email.md describes the settings and the rules.
package email
