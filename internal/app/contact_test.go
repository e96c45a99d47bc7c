package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/redistest"
)

// stillRouter accepts every routing request and does nothing: these tests
// are about the customer record, not routing.
type stillRouter struct{}

func (stillRouter) Enqueue(context.Context, conversation.RouteRequest) error     { return nil }
func (stillRouter) Abandon(context.Context, string) error                        { return nil }
func (stillRouter) Close(context.Context, string, string) error                  { return nil }
func (stillRouter) Transfer(context.Context, conversation.TransferRequest) error { return nil }

// A returning chat visitor who types a new name is called by it, and an
// email address given in several chats is noted once.
func TestChatContactTakesTheNewNameAndNotesAnEmailOnce(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	convs, err := conversation.New(conversation.Params{Redis: rs.NewClient(t), Workspace: "contact", Router: stillRouter{},
		DefaultQueue: "support", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	b := &chatBridge{convs: convs}
	ctx := context.Background()
	chat := func(session, name, email string) {
		t.Helper()
		rc, err := convs.Receive(ctx, conversation.Inbound{Channel: conversation.ChannelChat, From: "v_returning", To: "support",
			Name: name, Text: "hello", ProviderID: "v_returning:" + session, ThreadHint: session, ReceivedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.SetContact(ctx, rc.ConversationID, "v_returning", name, email); err != nil {
			t.Fatal(err)
		}
		conv, err := convs.Conversation(ctx, rc.ConversationID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := convs.Close(ctx, conv.ID, "", "resolved"); err != nil {
			t.Fatal(err)
		}
	}
	chat("s1", "Wile", "wile@example.com")
	chat("s2", "Wile E. Coyote", "wile@example.com")
	cust, err := convs.FindCustomer(ctx, conversation.ChannelChat, "v_returning")
	if err != nil {
		t.Fatal(err)
	}
	if cust.Name != "Wile E. Coyote" {
		t.Errorf("name %q, want the one typed last", cust.Name)
	}
	if n := strings.Count(cust.Notes, "wile@example.com"); n != 1 {
		t.Errorf("email noted %d times:\n%s", n, cust.Notes)
	}
	chat("s3", "", "coyote@acme.example")
	cust, _ = convs.FindCustomer(ctx, conversation.ChannelChat, "v_returning")
	if cust.Name != "Wile E. Coyote" || !strings.Contains(cust.Notes, "coyote@acme.example") {
		t.Errorf("an empty name must keep the old one and a new email be noted: %+v", cust)
	}
}
