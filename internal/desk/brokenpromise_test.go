package desk

import (
	"context"
	"testing"
	"time"

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
