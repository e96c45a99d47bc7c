package routing

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/switchboard/switchboard/internal/store"
)

// Many goroutines enqueue at once: their calls share pipelines, and each
// gets its own script's answer (the second enqueue of an id is refused).
func TestBatchedCallsGetTheirOwnResults(t *testing.T) {
	ctx := context.Background()
	e, err := New(Params{Client: shared.Connect(t), Workspace: workspace(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := e.calls.(*store.Batcher); !ok {
		t.Fatalf("script calls go through %T; want them batched by default", e.calls)
	}
	const n = 200
	errs := make([]error, 2*n)
	var wg sync.WaitGroup
	for i := range 2 * n {
		wg.Go(func() {
			errs[i] = e.Enqueue(ctx, Request{ConversationID: fmt.Sprintf("c%d", i%n), Channel: chChat})
		})
	}
	wg.Wait()
	for i := range n {
		a, b := errs[i], errs[i+n]
		if (a == nil) == (b == nil) || !errors.Is(errors.Join(a, b), ErrExists) {
			t.Fatalf("c%d enqueued twice: %v, %v; want one success and one ErrExists", i, a, b)
		}
		c, err := e.Conversation(ctx, fmt.Sprintf("c%d", i))
		if err != nil || c.State != ConvWaiting {
			t.Fatalf("c%d: %+v, %v", i, c, err)
		}
	}
}

// A call whose context has ended is not sent.
func TestBatchedCallWithEndedContextIsNotSent(t *testing.T) {
	e, err := New(Params{Client: shared.Connect(t), Workspace: workspace(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.Enqueue(ctx, Request{ConversationID: "c1", Channel: chChat}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v; want context.Canceled", err)
	}
	if _, err := e.Conversation(context.Background(), "c1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("conversation of a cancelled enqueue: %v; want ErrNotFound", err)
	}
}
