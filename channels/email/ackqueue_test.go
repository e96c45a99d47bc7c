package email

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// gatedSends is an ackQueue's send that records the order jobs reached it
// in and holds each until released.
type gatedSends struct {
	mu      sync.Mutex
	order   []string
	started chan string
	release chan struct{}
}

func newGatedSends() *gatedSends {
	return &gatedSends{started: make(chan string, 100), release: make(chan struct{})}
}

func (g *gatedSends) send(j ackJob) {
	g.mu.Lock()
	g.order = append(g.order, j.ack.convID)
	g.mu.Unlock()
	g.started <- j.ack.convID
	<-g.release
}

func job(id string) ackJob { return ackJob{ack: ackMail{convID: id}} }

func (g *gatedSends) waitStarted(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-g.started:
		case <-time.After(10 * time.Second):
			t.Fatalf("fewer than %d sends started", n)
		}
	}
}

// A queue runs at most atOnce jobs, takes the waiting ones oldest first,
// and counts every sender out once nothing waits, so a later job gets a
// sender of its own again.
func TestAckQueueRunsOldestFirstAndCountsSendersOut(t *testing.T) {
	t.Parallel()
	g := newGatedSends()
	q := newAckQueue(10, 2, g.send)
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		if !q.push(job(id)) {
			t.Fatalf("push %s refused below the limit", id)
		}
	}
	g.waitStarted(t, 2)
	q.mu.Lock()
	senders, waiting := q.senders, len(q.pending)
	q.mu.Unlock()
	if senders != 2 || waiting != 3 {
		t.Fatalf("senders %d, waiting %d; want 2 and 3", senders, waiting)
	}
	close(g.release)
	q.wait()
	if q.senders != 0 {
		t.Fatalf("senders after the queue drained: %d, want 0", q.senders)
	}
	g.mu.Lock()
	got := append([]string{}, g.order[2:]...)
	g.mu.Unlock()
	// Two senders take c and d at once and may reach send in either
	// order, and either may take e first: all three ran, once each. The
	// order is checked with one sender, below.
	slices.Sort(got)
	if want := []string{"c", "d", "e"}; !slices.Equal(got, want) {
		t.Fatalf("waiting jobs that ran: %v, want %v", got, want)
	}
	// A job after the senders ended is sent: it is not left waiting for a
	// sender that no longer runs.
	if !q.push(job("f")) {
		t.Fatal("push after draining refused")
	}
	g.waitStarted(t, 4) // c, d and e before it, then f
	q.wait()

	// One sender takes the waiting jobs oldest first.
	one := newGatedSends()
	q1 := newAckQueue(10, 1, one.send)
	for _, id := range []string{"a", "b", "c", "d"} {
		if !q1.push(job(id)) {
			t.Fatalf("push %s refused below the limit", id)
		}
	}
	one.waitStarted(t, 1)
	close(one.release)
	q1.wait()
	one.mu.Lock()
	defer one.mu.Unlock()
	if want := []string{"a", "b", "c", "d"}; !slices.Equal(one.order, want) {
		t.Fatalf("one sender ran the jobs in order %v, want %v", one.order, want)
	}
}

// Past limit waiting jobs a push is refused at once, and drop empties the
// queue without touching the jobs under way.
func TestAckQueueRefusesPastItsLimitAndDropsTheWaiting(t *testing.T) {
	t.Parallel()
	g := newGatedSends()
	q := newAckQueue(2, 1, g.send)
	for _, id := range []string{"a", "b", "c"} {
		if !q.push(job(id)) {
			t.Fatalf("push %s refused", id)
		}
	}
	g.waitStarted(t, 1)
	done := make(chan bool)
	go func() { done <- q.push(job("d")) }()
	select {
	case ok := <-done:
		if ok {
			t.Fatal("push past the limit accepted")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("push past the limit waited")
	}
	dropped := q.drop()
	if len(dropped) != 2 || dropped[0].ack.convID != "b" || dropped[1].ack.convID != "c" {
		t.Fatalf("dropped %v, want b and c", dropped)
	}
	close(g.release)
	q.wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	if !slices.Equal(g.order, []string{"a"}) {
		t.Fatalf("sent %v, want only the job under way", g.order)
	}
}
