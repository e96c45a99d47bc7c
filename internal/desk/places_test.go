package desk

import (
	"fmt"
	"testing"

	"github.com/switchboard/switchboard/routing"
)

// TestQueueMovesNameEveryQueueAnEventChanges: each event that changes a
// queue's order names that queue once, and a move between queues names
// both, with the conversation on the queue it went to.
func TestQueueMovesNameEveryQueueAnEventChanges(t *testing.T) {
	cases := []struct {
		ev   routing.Event
		want string
	}{
		{routing.Event{Type: routing.EventEnqueued, ConversationID: "c1", Queue: "q"}, "[c1@q]"},
		{routing.Event{Type: routing.EventAccepted, ConversationID: "c1", Queue: "q"}, "[c1@q]"},
		{routing.Event{Type: routing.EventExpired, ConversationID: "c1", Queue: "q"}, "[c1@q]"},
		{routing.Event{Type: routing.EventTransferred, ConversationID: "c1", Queue: "b", FromQueue: "a"}, "[c1@b @a]"},
		{routing.Event{Type: routing.EventTransferred, ConversationID: "c1", Queue: "a", FromQueue: "a"}, "[c1@a]"},
		{routing.Event{Type: routing.EventOverflowed, ConversationID: "c1", Queue: "a", ToQueue: "b"}, "[@a c1@b]"},
		{routing.Event{Type: routing.EventClosed, ConversationID: "c1", Queue: "q"}, "[]"},
	}
	for _, tc := range cases {
		var got []string
		queueMoves(tc.ev, func(convID, queue string) { got = append(got, convID+"@"+queue) })
		if fmt.Sprint(got) != tc.want {
			t.Errorf("%s: moves %v, want %s", tc.ev.Type, got, tc.want)
		}
	}
}
