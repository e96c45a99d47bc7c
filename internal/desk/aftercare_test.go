package desk

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/survey"
)

// surveysHeard records the closes handed to the survey.
type surveysHeard struct {
	mu     sync.Mutex
	closed []conversation.Conversation
	names  []string
}

func (s *surveysHeard) Closed(_ context.Context, conv conversation.Conversation, agentName string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed, s.names = append(s.closed, conv), append(s.names, agentName)
	return nil
}

func (s *surveysHeard) Reply(context.Context, channel.Inbound) (survey.Match, error) {
	return survey.Match{}, nil
}

func (s *surveysHeard) EndWindow(context.Context, channel.Name, string) error { return nil }

func (s *surveysHeard) heard() ([]conversation.Conversation, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]conversation.Conversation(nil), s.closed...), append([]string(nil), s.names...)
}

// await returns what was heard once it holds n closes, or after 10 s.
func (s *surveysHeard) await(n int) ([]conversation.Conversation, []string) {
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if got, names := s.heard(); len(got) >= n || time.Now().After(deadline) {
			return got, names
		}
	}
}

// newAftercareEnv is a desk whose survey only records the closes it hears.
func newAftercareEnv(t *testing.T) (*env, *Desk, *surveysHeard) {
	t.Helper()
	e := newEnv(t)
	heard := &surveysHeard{}
	d, err := New(Params{Engine: e.engine, Conversations: e.convs, Auth: e.auth, Promises: e.promises, Surveys: heard})
	if err != nil {
		t.Fatal(err)
	}
	return e, d, heard
}

// TestAftercareFollowsUpClosesFromTheStream: the survey hears of a close
// from the event stream the close's script wrote, not from the closing
// gateway's own steps after it, so a close recorded by a gateway that then
// died is followed up; a close from the queue, which nobody served, is not.
func TestAftercareFollowsUpClosesFromTheStream(t *testing.T) {
	t.Parallel()
	e, d, heard := newAftercareEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Aftercare{Desk: d, Consumer: "gw-a"}.Run(ctx) }()
	// The group starts at the stream's end: wait until it is there.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if groups, err := e.rdb.XInfoGroups(ctx, e.convs.EventsKey()).Result(); err == nil && len(groups) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the aftercare group was not created")
		}
	}
	served, _ := e.conversation(ana, ActiveMine)
	waiting, _ := e.conversation(ana, Waiting)
	// Recorded straight on the conversation service, as by a gateway that
	// died right after its close's script: nobody hears of it but the
	// stream.
	if _, err := e.convs.CloseWith(ctx, served, conversation.Closing{Holder: "ana", By: "ana", Disposition: "resolved"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.convs.RecordClose(ctx, waiting, conversation.Closing{By: "sam", Disposition: "resolved", From: conversation.FromWaiting}); err != nil {
		t.Fatal(err)
	}

	want, err := e.convs.Conversation(ctx, served)
	if err != nil {
		t.Fatal(err)
	}
	heard.await(1)
	time.Sleep(200 * time.Millisecond) // room for a wrong second close to arrive
	got, names := heard.heard()
	if len(got) != 1 {
		t.Fatalf("the survey heard of %d closes, want the served one only: %+v", len(got), got)
	}
	c := got[0]
	if c.ID != served || c.AgentID != "ana" || c.Disposition != "resolved" || c.Channel != channel.SMS ||
		c.CustomerID != want.CustomerID || c.CustomerAddress != want.CustomerAddress || c.OurAddress != ourAddress ||
		c.Queue != want.Queue || c.ClosedFrom != conversation.FromHandled || c.ClosedAt.IsZero() {
		t.Fatalf("the survey heard %+v, want the close of %+v", c, want)
	}
	if names[0] != "Ana" {
		t.Fatalf("agent named %q, want Ana", names[0])
	}

	// An entry from a gateway that predates the addresses in it (a rolling
	// upgrade) is followed up with the record's.
	if err := e.rdb.XAdd(ctx, &redis.XAddArgs{Stream: e.convs.EventsKey(), Values: []any{
		"type", conversation.EventConversationClosed, "conv", served, "cust", want.CustomerID, "channel", "sms",
		"queue", want.Queue, "by", "ana", "agent", "ana", "disposition", "resolved", "at", fmt.Sprint(time.Now().UnixMilli())}}).Err(); err != nil {
		t.Fatal(err)
	}
	if got, _ = heard.await(2); len(got) != 2 || got[1].CustomerAddress != want.CustomerAddress || got[1].OurAddress != ourAddress || got[1].AgentID != "ana" {
		t.Fatalf("an entry without addresses was followed up as %+v, want the record's addresses", got)
	}
	cancel()
	if err := <-done; err != nil && ctx.Err() == nil {
		t.Fatal(err)
	}
}

// TestAftercareTakesADeadGatewaysCloseWithinSeconds: a gateway read a
// close from the stream and died before following it up. Another gateway
// takes it within seconds (aftercareClaimAfter), not the half minute other
// consumers wait: the capped stream is trimmed past an entry in under a
// minute at a few hundred contacts a second, and a close trimmed before it
// is taken gets no survey.
func TestAftercareTakesADeadGatewaysCloseWithinSeconds(t *testing.T) {
	t.Parallel()
	e, d, heard := newAftercareEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream := e.convs.EventsKey()
	if err := e.rdb.XGroupCreateMkStream(ctx, stream, "aftercare", "$").Err(); err != nil {
		t.Fatal(err)
	}
	served, _ := e.conversation(ana, ActiveMine)
	if _, err := e.convs.CloseWith(ctx, served, conversation.Closing{Holder: "ana", By: "ana", Disposition: "resolved"}); err != nil {
		t.Fatal(err)
	}
	// The gateway that dies: it reads everything there is and acknowledges
	// nothing.
	read, err := e.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "aftercare", Consumer: "gw-dead", Streams: []string{stream, ">"}, Count: 100}).Result()
	if err != nil || len(read) != 1 || len(read[0].Messages) == 0 {
		t.Fatalf("the dying gateway read %v, %v", read, err)
	}
	done := make(chan error, 1)
	go func() { done <- Aftercare{Desk: d, Consumer: "gw-b"}.Run(ctx) }()
	// Within 20 s: other consumers' 30 s would fail here.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if got, _ := heard.heard(); len(got) > 0 {
			if got[0].ID != served || len(got) != 1 {
				t.Fatalf("the survey heard %+v, want the close of %s", got, served)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the dead gateway's close was not followed up in 20 s")
		}
	}
	cancel()
	if err := <-done; err != nil && ctx.Err() == nil {
		t.Fatal(err)
	}
}
