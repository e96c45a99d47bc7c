package desk

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/channel"
)

// A voice offer names what the caller came about before, on any channel
// (their texts share the phone number); a text offer previews the message.
func TestVoiceOfferNamesTheCallersEarlierConversations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	const caller = "+14155550177"
	sms, err := e.desk.Receive(ctx, channel.Inbound{Channel: channel.SMS, From: caller, To: ourAddress,
		Text: "my parcel never came", ProviderID: "SMoffer1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.convs.Abandon(ctx, sms.ConversationID); err != nil {
		t.Fatal(err)
	}
	call, err := e.desk.Receive(ctx, channel.Inbound{Channel: channel.Voice, From: caller, To: ourAddress,
		Text: "Call from " + caller, ProviderID: "CAoffer1", ThreadHint: "CAoffer1"})
	if err != nil {
		t.Fatal(err)
	}
	conv, err := e.convs.Conversation(ctx, call.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	o := e.desk.offer(ctx, conv, nil, time.Now(), time.Now().Add(20*time.Second))
	if len(o.Earlier) != 1 || o.Earlier[0].ConversationID != sms.ConversationID || o.Earlier[0].Channel != "sms" ||
		o.Earlier[0].Summary != "my parcel never came" {
		t.Fatalf("voice offer's earlier conversations: %+v", o.Earlier)
	}
	smsConv, err := e.convs.Conversation(ctx, sms.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	if o := e.desk.offer(ctx, smsConv, nil, time.Now(), time.Now()); o.Earlier != nil {
		t.Fatalf("a text offer carries earlier conversations: %+v", o.Earlier)
	}
}

// A customer without a name is shown by the number they wrote from, not
// by their internal id.
func TestNamelessCustomerShownByTheirNumber(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	r, err := e.desk.Receive(ctx, channel.Inbound{Channel: channel.SMS, From: "+14155550188", To: ourAddress,
		Text: "hello?", ProviderID: "SMnameless"})
	if err != nil {
		t.Fatal(err)
	}
	entries, err := e.convs.Recent(ctx, r.ConversationID, 5)
	if err != nil {
		t.Fatal(err)
	}
	var author string
	for _, en := range entries {
		if m := e.desk.message(ctx, r.ConversationID, en, e.desk.names()); m.Kind == KindCustomer {
			author = m.Author
		}
	}
	if author != "+14155550188" {
		t.Fatalf("the customer's message is by %q, want their number", author)
	}
}
