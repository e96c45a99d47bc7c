package conversation

import (
	"context"
	"testing"

	"github.com/switchboard/switchboard/internal/channel"
)

// Email threading: Message-ID keys scoped to the customer, the
// per-conversation reply address as a second key, and a late reply
// reopening its closed conversation.
func TestEmailThreading(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mail := func(from, pid, hint string) channel.Inbound {
		return channel.Inbound{Channel: channel.Email, From: from, To: "help@us.example", Text: "x", ProviderID: pid, ThreadHint: hint}
	}
	tests := []struct {
		desc string
		run  func(t *testing.T, e *env)
	}{
		{"a reply naming our sent message in References joins, whatever comes first", func(t *testing.T, e *env) {
			first := mustReceive(t, e, mail("bo@example.com", "m1@bo", ""))
			// Our reply went out as r1@us (the outbox records sent ids as thread keys).
			if err := e.rdb.Set(ctx, e.svc.k.prefix()+"thread:email:r1@us", first.ConversationID, 0).Err(); err != nil {
				t.Fatal(err)
			}
			other := mustReceive(t, e, mail("bo@example.com", "m2@bo", "unknown@elsewhere"))
			if other.ConversationID != first.ConversationID {
				t.Fatalf("an unknown key joins the open conversation: %+v vs %+v", other, first)
			}
			r := mustReceive(t, e, mail("bo@example.com", "m3@bo", "nothing@here r1@us m1@bo"))
			if r.ConversationID != first.ConversationID || r.NewConversation {
				t.Fatalf("reply %+v, want join of %s", r, first.ConversationID)
			}
		}},
		{"a late reply reopens the closed conversation and enqueues it again", func(t *testing.T, e *env) {
			first := mustReceive(t, e, mail("cy@example.com", "c1@cy", ""))
			if _, err := e.svc.Close(ctx, first.ConversationID, "ana", "resolved"); err != nil {
				t.Fatal(err)
			}
			r := mustReceive(t, e, mail("cy@example.com", "c2@cy", "c1@cy"))
			if r.ConversationID != first.ConversationID || r.NewConversation {
				t.Fatalf("late reply %+v, want %s reopened", r, first.ConversationID)
			}
			conv, err := e.svc.Conversation(ctx, r.ConversationID)
			if err != nil {
				t.Fatal(err)
			}
			if conv.State != StateQueued || conv.AgentID != "" || conv.Disposition != "" || !conv.Routed {
				t.Fatalf("reopened conversation = %+v", conv)
			}
			ids := e.router.enqueuedIDs()
			if len(ids) != 2 || ids[1] != first.ConversationID {
				t.Fatalf("enqueued %v, want the conversation twice", ids)
			}
			// A new mail without hint after the reopen joins it (it is open again).
			n := mustReceive(t, e, mail("cy@example.com", "c3@cy", ""))
			if n.ConversationID != first.ConversationID {
				t.Fatalf("mail after reopen %+v", n)
			}
		}},
		{"another customer's Message-ID never threads", func(t *testing.T, e *env) {
			a := mustReceive(t, e, mail("ann@example.com", "a1@ann", ""))
			b := mustReceive(t, e, mail("ben@example.com", "b1@ben", "a1@ann conv:"+a.ConversationID))
			if b.ConversationID == a.ConversationID || !b.NewConversation {
				t.Fatalf("stranger threaded into %s: %+v", a.ConversationID, b)
			}
			// Ben's new conversation did not take a1@ann over: Ann's reply still finds hers.
			if _, err := e.svc.Close(ctx, b.ConversationID, "", "resolved"); err != nil {
				t.Fatal(err)
			}
			r := mustReceive(t, e, mail("ann@example.com", "a2@ann", "a1@ann"))
			if r.ConversationID != a.ConversationID {
				t.Fatalf("ann's reply went to %s, want %s", r.ConversationID, a.ConversationID)
			}
		}},
		{"the reply-address key threads when References were rewritten", func(t *testing.T, e *env) {
			a := mustReceive(t, e, mail("dee@example.com", "d1@dee", ""))
			b := mustReceive(t, e, mail("dee@example.com", "d2@dee", "fresh@thread"))
			if b.ConversationID != a.ConversationID {
				t.Fatal("second mail should join the open conversation")
			}
			if _, err := e.svc.Close(ctx, a.ConversationID, "", "resolved"); err != nil {
				t.Fatal(err)
			}
			c := mustReceive(t, e, mail("dee@example.com", "d3@dee", "rewritten@client conv:"+a.ConversationID))
			if c.ConversationID != a.ConversationID {
				t.Fatalf("reply-address key: %+v, want %s", c, a.ConversationID)
			}
		}},
		{"chat and sms never reopen", func(t *testing.T, e *env) {
			a := mustReceive(t, e, channel.Inbound{Channel: channel.Chat, From: "v_1", To: "web", Text: "hi", ProviderID: "f1", ThreadHint: "s1"})
			if _, err := e.svc.Close(ctx, a.ConversationID, "", "resolved"); err != nil {
				t.Fatal(err)
			}
			b := mustReceive(t, e, channel.Inbound{Channel: channel.Chat, From: "v_1", To: "web", Text: "again", ProviderID: "f2", ThreadHint: "s1"})
			if b.ConversationID == a.ConversationID || !b.NewConversation {
				t.Fatalf("chat reopened: %+v", b)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newEnv(t, nil))
		})
	}
}

func mustReceive(t *testing.T, e *env, in channel.Inbound) channel.Receipt {
	t.Helper()
	r, err := e.svc.Receive(context.Background(), in)
	if err != nil {
		t.Fatalf("receive %+v: %v", in, err)
	}
	return r
}

// TestOnlyEmailKeepsAKeyPerMessage: a customer's email names the message
// it answers (In-Reply-To), so every email in or out keeps a thread key
// for ThreadTTL; an SMS or a chat message is threaded by address or
// session, and keeping a key per message for 90 days only filled Redis.
func TestOnlyEmailKeepsAKeyPerMessage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	e.run(t)
	thread := func(ch channel.Name, pid string) bool {
		n, err := e.rdb.Exists(ctx, e.svc.k.prefix()+"thread:"+string(ch)+":"+pid).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	text := mustReceive(t, e, sms("+15550009999", "hi", "SMin1"))
	chat := mustReceive(t, e, channel.Inbound{Channel: channel.Chat, From: "v_keys", To: "web", Text: "hello", ProviderID: "v_keys|f1", ThreadHint: "sess1"})
	mail := mustReceive(t, e, channel.Inbound{Channel: channel.Email, From: "kim@example.com", To: "help@us.example", Text: "x", ProviderID: "k1@kim"})
	if thread(channel.SMS, "SMin1") || thread(channel.Chat, "v_keys|f1") {
		t.Error("an SMS or chat message kept a thread key of its own")
	}
	if !thread(channel.Email, "k1@kim") {
		t.Error("an email kept no thread key: an answer naming it would not find its conversation")
	}
	// The chat session still threads the visitor's next message.
	if again := mustReceive(t, e, channel.Inbound{Channel: channel.Chat, From: "v_keys", To: "web", Text: "still there?", ProviderID: "v_keys|f2", ThreadHint: "sess1"}); again.ConversationID != chat.ConversationID {
		t.Fatalf("the session's next message went to %s, want %s", again.ConversationID, chat.ConversationID)
	}
	replies := map[string]Entry{}
	for ch, conv := range map[channel.Name]string{channel.SMS: text.ConversationID, channel.Email: mail.ConversationID} {
		en, err := e.svc.Reply(ctx, conv, "ana", "on it", nil)
		if err != nil {
			t.Fatal(err)
		}
		replies[string(ch)] = en
	}
	sent := func(ch channel.Name) string {
		m, err := e.svc.Message(ctx, replies[string(ch)].MessageID)
		if err != nil {
			t.Fatal(err)
		}
		return m.ProviderID
	}
	eventually(t, "both replies sent", func() bool { return sent(channel.SMS) != "" && sent(channel.Email) != "" })
	if thread(channel.SMS, sent(channel.SMS)) {
		t.Error("an SMS reply kept a thread key")
	}
	if !thread(channel.Email, sent(channel.Email)) {
		t.Error("an email reply kept no thread key: the customer's answer to it would not find its conversation")
	}
}
