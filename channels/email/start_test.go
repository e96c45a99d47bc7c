package email

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
)

// TestStartedEmailThreadsTheAnswerBack: an agent starts an email to a
// customer; it leaves with the agent's subject (no "Re:") and our
// Message-ID, and the customer's answer, read from the mailbox, joins the
// same conversation by In-Reply-To.
func TestStartedEmailThreadsTheAnswerBack(t *testing.T) {
	e := newEnv(t, func(c *Config) { f := false; c.AutoAck = &f })
	ctx := context.Background()
	run(t, e.ch, e.svc)
	st, err := e.svc.Start(ctx, conversation.StartRequest{Channel: channel.Email, CustomerAddress: "Maria@Example.com",
		OurAddress: supportAddr, Queue: "support", AgentID: "agent-1", Text: "Your refund is on its way.", Subject: "Your refund"})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the mail at the SMTP server", 10*time.Second, func() bool { return len(e.smtp.all()) == 1 })
	sent := e.smtp.all()[0]
	if len(sent.rcpts) != 1 || sent.rcpts[0] != "maria@example.com" {
		t.Fatalf("recipients %v", sent.rcpts)
	}
	r, err := mail.CreateReader(bytes.NewReader(sent.raw))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := r.Header.Subject()
	msgID, _ := r.Header.MessageID()
	if subject != "Your refund" || msgID == "" || r.Header.Get("In-Reply-To") != "" {
		t.Fatalf("subject %q, Message-ID %q, In-Reply-To %q", subject, msgID, r.Header.Get("In-Reply-To"))
	}
	answer := rawMail([][2]string{{"From", "Maria <maria@example.com>"}, {"To", supportAddr}, {"Subject", "Re: Your refund"},
		{"Message-ID", "<answer-1@example.com>"}, {"In-Reply-To", "<" + msgID + ">"}, {"References", "<" + msgID + ">"}}, "Thank you!")
	if err := e.dove.Deliver(supportUser, "", answer); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the answer stored", 15*time.Second, func() bool { return len(e.customerMessages(st.Conversation.ID)) == 1 })
	if got := e.conversations(); len(got) != 1 {
		t.Fatalf("conversations %v, want only the started one", got)
	}
	if m := e.customerMessages(st.Conversation.ID)[0]; !strings.Contains(m.Text, "Thank you!") {
		t.Fatalf("answer %q", m.Text)
	}
}
