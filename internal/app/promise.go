package app

import (
	"context"
	"fmt"

	"github.com/switchboard/switchboard/channels/sms"
	"github.com/switchboard/switchboard/routing"
)

// promiseRecorder keeps what an automatic first reply told the customer:
// the wait range goes to routing with the conversation, so the accepted
// event carries it and "promise kept" is measured; the text goes into the
// transcript, so the agent sees what the customer was told.
type promiseRecorder struct {
	engine *routing.Engine
	convs  *receiverRef // the conversation service, once built
}

// promiseAuthor is the transcript author of automatic messages.
const promiseAuthor = "switchboard"

func (p promiseRecorder) RecordPromise(ctx context.Context, pr sms.Promise) error {
	if pr.High > 0 {
		if err := p.engine.RecordEstimate(ctx, pr.ConversationID, routing.Estimate{Low: pr.Low, High: pr.High, Enough: true}); err != nil {
			return fmt.Errorf("app: record promise on %s: %w", pr.ConversationID, err)
		}
	}
	if _, err := p.convs.svc.Note(ctx, pr.ConversationID, promiseAuthor, "Automatic reply sent: "+pr.Text); err != nil {
		return fmt.Errorf("app: record promise text on %s: %w", pr.ConversationID, err)
	}
	return nil
}
