package desk

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/promise"
	"github.com/switchboard/switchboard/internal/recovery"
)

type raisedRecoveries struct {
	Recoveries
	customer string
	reason   recovery.Reason
}

func (r *raisedRecoveries) Raise(_ context.Context, customerID string, why recovery.Reason) error {
	r.customer, r.reason = customerID, why
	return nil
}

// A broken promise starts service recovery for its customer, naming what
// was promised, as a bad rating does.
func TestBrokenPromiseRaisesRecovery(t *testing.T) {
	rec := &raisedRecoveries{}
	d := &Desk{recovery: rec}
	at := time.Date(2026, 12, 3, 15, 0, 0, 0, time.UTC)
	d.PromiseBroken(context.Background(), promise.Promise{ID: "pr1", ConversationID: "cv1", CustomerID: "cu1", AgentID: "ana",
		Queue: "support", Channel: "sms", What: "call back about the refund", ResolvedAt: at})
	if rec.customer != "cu1" || rec.reason.Kind != recovery.ReasonPromise || rec.reason.ConversationID != "cv1" ||
		rec.reason.AgentID != "ana" || rec.reason.Text != "call back about the refund" || !rec.reason.At.Equal(at) {
		t.Fatalf("raised %q %+v", rec.customer, rec.reason)
	}
	(&Desk{}).PromiseBroken(context.Background(), promise.Promise{CustomerID: "cu1"}) // recovery off: nothing to do
}

// A callback that reached nobody is a promise broken too: the channel's
// transcript line starts service recovery for the conversation's customer.
func TestMissedCallbackRaisesRecovery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	rec := &raisedRecoveries{}
	e.desk.recovery = rec
	id, cust := e.conversation(ana, ActiveMine)
	if err := e.desk.Record(ctx, id, "callback_attempt", "Calling the customer (attempt 1 of 2)."); err != nil || rec.customer != "" {
		t.Fatalf("an attempt raised recovery: %v %q", err, rec.customer)
	}
	if err := e.desk.Record(ctx, id, channel.RecordMissedCallback, "Missed callback: 2 attempts to +14155550100, none answered."); err != nil {
		t.Fatal(err)
	}
	if rec.customer != cust || rec.reason.Kind != recovery.ReasonMissedCallback || rec.reason.ConversationID != id ||
		rec.reason.AgentID != ana.AccountID || rec.reason.Text == "" {
		t.Fatalf("raised %q %+v", rec.customer, rec.reason)
	}
	entries, err := e.convs.Recent(ctx, id, 3)
	if err != nil || entries[len(entries)-1].Event != channel.RecordMissedCallback {
		t.Fatalf("the transcript line is missing: %+v %v", entries, err)
	}
}
