package email

// The channel's own Redis keys, all under the workspace's hash tag so they
// sit in the same Cluster slot as the conversations they describe:
//
//	sb:{ws}:email:lease:<mailbox>      string the gateway reading the mailbox (token), PX lease
//	sb:{ws}:email:ckpt:<mailbox>       hash   uidvalidity, uid: the last UID stored
//	sb:{ws}:email:conv:<conversation>  hash   subject, references, cc, customer, mailbox of the thread
//	sb:{ws}:email:convmsgs:<conv>      zset   provider ids of the thread's mails, by time (ms)
//	sb:{ws}:email:msg:<provider id>    hash   one received or sent mail as agents see it
//	sb:{ws}:email:ack:<sender>         string automatic answers sent to a sender this hour
//
// <mailbox> is user@host:port/folder; <provider id> a Message-ID without
// brackets or "h:<hash>" for a mail without one.
type keys struct{ ws string }

func (k keys) prefix() string                { return "sb:{" + k.ws + "}:email:" }
func (k keys) lease(mailbox string) string   { return k.prefix() + "lease:" + mailbox }
func (k keys) ckpt(mailbox string) string    { return k.prefix() + "ckpt:" + mailbox }
func (k keys) conv(id string) string         { return k.prefix() + "conv:" + id }
func (k keys) convMsgs(id string) string     { return k.prefix() + "convmsgs:" + id }
func (k keys) msg(providerID string) string  { return k.prefix() + "msg:" + providerID }
func (k keys) ackCount(sender string) string { return k.prefix() + "ack:" + sender }
