package desk

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/channel"
)

// A returning chat visitor who types a new name is called by it, and an
// email address given in several chats is noted once.
func TestChatContactTakesTheNewNameAndNotesAnEmailOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	chat := func(session, name, email string) {
		t.Helper()
		rc, err := e.convs.Receive(ctx, channel.Inbound{Channel: channel.Chat, From: "v_returning", To: "support",
			Name: name, Text: "hello", ProviderID: "v_returning:" + session, ThreadHint: session, ReceivedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.desk.SetContact(ctx, rc.CustomerID, name, email); err != nil {
			t.Fatal(err)
		}
		if _, err := e.convs.Close(ctx, rc.ConversationID, "", "resolved"); err != nil {
			t.Fatal(err)
		}
	}
	chat("s1", "Wile", "wile@example.com")
	chat("s2", "Wile E. Coyote", "wile@example.com")
	cust, err := e.convs.FindCustomer(ctx, channel.Chat, "v_returning")
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
	cust, _ = e.convs.FindCustomer(ctx, channel.Chat, "v_returning")
	if cust.Name != "Wile E. Coyote" || !strings.Contains(cust.Notes, "coyote@acme.example") {
		t.Errorf("an empty name must keep the old one and a new email be noted: %+v", cust)
	}
}
