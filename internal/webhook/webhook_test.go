package webhook

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestSignVerify(t *testing.T) {
	t.Parallel()
	a, _ := NewSecret()
	b, _ := NewSecret()
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"id":"evt_1"}`)
	hdr, err := Sign([]string{a, b}, "evt_1", now, body)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		desc, secret, id, ts string
		body                 []byte
		at                   time.Time
		ok                   bool
	}{
		{"first secret", a, "evt_1", "1800000000", body, now, true},
		{"second secret of a rotation", b, "evt_1", "1800000000", body, now, true},
		{"other secret", mustSecret(t), "evt_1", "1800000000", body, now, false},
		{"body changed", a, "evt_1", "1800000000", []byte(`{"id":"evt_2"}`), now, false},
		{"id changed", a, "evt_2", "1800000000", body, now, false},
		{"timestamp changed", a, "evt_1", "1800000001", body, now.Add(time.Second), false},
		{"too old", a, "evt_1", "1800000000", body, now.Add(10 * time.Minute), false},
		{"garbage timestamp", a, "evt_1", "soon", body, now, false},
	} {
		err := Verify(tc.secret, tc.id, tc.ts, hdr, tc.body, tc.at, 5*time.Minute)
		if (err == nil) != tc.ok {
			t.Errorf("%s: Verify = %v, want ok=%v", tc.desc, err, tc.ok)
		}
	}
}

func mustSecret(t *testing.T) string {
	s, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRefusesInternalAddresses: URLs naming or resolving to loopback,
// link-local (cloud metadata) or private ranges are refused before any
// connection unless the endpoint allows them.
func TestRefusesInternalAddresses(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var dials atomic.Int64
	s := h.service("g1", func(p *Params) { p.Dial = loopbackOnly(t, &dials) })
	h.res.set("metadata.example", "169.254.169.254")
	h.res.set("intranet.example", "10.0.0.1")
	h.res.set("split.example", "93.184.216.34", "127.0.0.1")
	h.res.set("public.example", "93.184.216.34")
	h.res.set("localhost", "127.0.0.1", "::1")
	for _, u := range []string{
		"http://127.0.0.1/hook", "http://localhost/", "http://169.254.169.254/latest/meta-data",
		"http://10.0.0.1/", "https://metadata.example/", "https://intranet.example/x", "http://[::1]:8080/",
		"http://split.example/", "http://0.0.0.0/", "http://[::ffff:127.0.0.1]/", "http://100.64.0.1/",
	} {
		_, _, err := s.Create(h.ctx, EndpointInput{URL: ptr(u)})
		if !errors.Is(err, ErrForbiddenAddress) && !errors.Is(err, ErrInvalidURL) {
			t.Errorf("Create(%s) = %v, want refused", u, err)
		}
	}
	for _, u := range []string{"ftp://public.example/", "http://user:pw@public.example/", "/relative", "http://"} {
		if _, _, err := s.Create(h.ctx, EndpointInput{URL: ptr(u)}); !errors.Is(err, ErrInvalidURL) {
			t.Errorf("Create(%s) = %v, want ErrInvalidURL", u, err)
		}
	}
	if _, _, err := s.Create(h.ctx, EndpointInput{URL: ptr("https://public.example/hook")}); err != nil {
		t.Errorf("public URL refused: %v", err)
	}
	if dials.Load() != 0 {
		t.Errorf("%d connections made while checking URLs", dials.Load())
	}

	// DNS rebinding: a name public at registration that points inside at
	// delivery time is refused at connect time.
	r := newReceiver(t)
	h.res.set("rebind.example", "93.184.216.34")
	ep, secret, err := s.Create(h.ctx, EndpointInput{URL: ptr("http://rebind.example:" + r.srv.URL[len("http://127.0.0.1:"):] + "/")})
	if err != nil {
		t.Fatal(err)
	}
	r.trust(secret)
	h.res.set("rebind.example", "127.0.0.1")
	h.run(s)
	if _, err := s.Ping(h.ctx, ep.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "a refused attempt in the log", func() bool {
		ds, _ := s.Deliveries(h.ctx, ep.ID, 10)
		return len(ds) > 0 && ds[0].Status == "retrying"
	})
	if r.calls.Load() != 0 || dials.Load() != 0 {
		t.Fatalf("rebound name reached the receiver: %d calls, %d dials", r.calls.Load(), dials.Load())
	}
}

// TestOrderedRetriedDelivery: a receiver that fails transiently gets every
// event of a conversation once, in order, while other conversations are
// not held back; Retry-After is honoured.
func TestOrderedRetriedDelivery(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := h.service("g1", nil)
	r := newReceiver(t)
	var failA atomic.Int64
	failA.Store(3)
	r.respond = func(n int, env Envelope) (int, map[string]string) {
		if env.Data.ConversationID == "A" && failA.Add(-1) >= 0 {
			if n%2 == 0 {
				return http.StatusTooManyRequests, map[string]string{"Retry-After": "0"}
			}
			return http.StatusServiceUnavailable, nil
		}
		return http.StatusOK, nil
	}
	ep := register(t, s, r)
	h.run(s)
	h.enqueue("A")
	h.enqueue("B")
	h.abandon("A")
	h.abandon("B")
	waitFor(t, 10*time.Second, "4 deliveries", func() bool { return len(r.delivered()) >= 4 })
	time.Sleep(200 * time.Millisecond) // nothing more may come
	got := r.delivered()
	if len(got) != 4 {
		t.Fatalf("got %d deliveries, want 4: %+v", len(got), got)
	}
	perConv := map[string][]string{}
	ids := map[string]bool{}
	for _, e := range got {
		if ids[e.ID] {
			t.Errorf("event %s delivered twice", e.ID)
		}
		ids[e.ID] = true
		perConv[e.Data.ConversationID] = append(perConv[e.Data.ConversationID], e.Type)
		if e.Workspace != h.ws || e.OccurredAt.IsZero() {
			t.Errorf("envelope %+v lacks workspace or time", e)
		}
	}
	// Routing events alone: conversation.created comes with the first
	// message, on the conversation stream (TestCreatedComesBeforeTheFirstMessage).
	want := []string{TypeConversationQueued, TypeConversationAbandoned}
	for _, c := range []string{"A", "B"} {
		if !slices.Equal(perConv[c], want) {
			t.Errorf("conversation %s got %v, want %v", c, perConv[c], want)
		}
	}
	ds, err := s.Deliveries(h.ctx, ep.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	retries := 0
	for _, d := range ds {
		if d.Status == "retrying" {
			retries++
		}
	}
	if retries != 3 {
		t.Errorf("log shows %d retries, want 3", retries)
	}
}

// TestGoneDeadLetterAndReplay: 410 is final and pauses the endpoint; an
// endpoint that keeps failing past the retry window dead-letters; an admin
// replays one delivery and everything since a time.
func TestGoneDeadLetterAndReplay(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := h.service("g1", func(p *Params) { p.RetryFor = 300 * time.Millisecond })
	gone := newReceiver(t)
	gone.respond = func(int, Envelope) (int, map[string]string) { return http.StatusGone, nil }
	failing := newReceiver(t)
	var healthy atomic.Bool
	failing.respond = func(int, Envelope) (int, map[string]string) {
		if healthy.Load() {
			return http.StatusOK, nil
		}
		return http.StatusInternalServerError, nil
	}
	epGone := register(t, s, gone, TypeConversationQueued)
	epFail := register(t, s, failing, TypeConversationQueued)
	h.run(s)
	since := time.Now()
	h.enqueue("C")
	waitFor(t, 10*time.Second, "410 and dead letter", func() bool {
		a, _ := s.Deliveries(h.ctx, epGone.ID, 10)
		b, _ := s.Deliveries(h.ctx, epFail.ID, 10)
		return len(a) > 0 && a[0].Status == "failed" && len(b) > 0 && b[0].Status == "dead"
	})
	if e, _ := s.Endpoint(h.ctx, epGone.ID); e.Active || e.PausedReason == "" {
		t.Errorf("endpoint answering 410 not paused: %+v", e)
	}
	if gone.calls.Load() != 1 {
		t.Errorf("410 was retried: %d calls", gone.calls.Load())
	}
	dead, _ := s.Deliveries(h.ctx, epFail.ID, 1)
	healthy.Store(true)
	if err := s.Replay(h.ctx, epFail.ID, dead[0].EventID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "replayed delivery", func() bool { return len(failing.delivered()) == 1 })
	if got := failing.delivered()[0]; got.ID != dead[0].EventID || got.Type != TypeConversationQueued {
		t.Errorf("replayed %+v, want %s", got, dead[0].EventID)
	}
	if err := s.Replay(h.ctx, epFail.ID, "evt_nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("replay of unknown event = %v", err)
	}
	// The receiver has the replay before the gateway records it finished;
	// until then a second replay finds it still queued and adds nothing.
	waitFor(t, 5*time.Second, "the replay recorded as delivered", func() bool {
		ds, _ := s.Deliveries(h.ctx, epFail.ID, 1)
		return len(ds) == 1 && ds[0].Status == "delivered"
	})
	n, err := s.ReplaySince(h.ctx, epFail.ID, since)
	if err != nil || n != 1 {
		t.Fatalf("ReplaySince = %d, %v; want 1 (the one queued event)", n, err)
	}
	waitFor(t, 5*time.Second, "replay since", func() bool { return len(failing.delivered()) == 2 })
	if a, b := failing.delivered()[0].ID, failing.delivered()[1].ID; a != b {
		t.Errorf("replay since sent %s, want the same id %s", b, a)
	}
}

// TestGatewayDiesMidDelivery: a gateway that stops holding a claimed
// delivery loses nothing; another gateway delivers it after the lease.
func TestGatewayDiesMidDelivery(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	block := make(chan struct{})
	r := newReceiver(t)
	var first atomic.Bool
	r.respond = func(int, Envelope) (int, map[string]string) {
		if first.CompareAndSwap(false, true) {
			<-block // the first request hangs until its gateway is gone
			return http.StatusServiceUnavailable, nil
		}
		return http.StatusOK, nil
	}
	t.Cleanup(func() { close(block) })
	quick := func(p *Params) { p.Timeout = 5 * time.Second; p.Lease = 6 * time.Second }
	g1 := h.service("g1", quick)
	ep := register(t, g1, r, TypeConversationQueued)
	stop1 := h.run(g1)
	h.enqueue("D")
	waitFor(t, 5*time.Second, "first attempt under way", func() bool { return first.Load() })
	stop1() // g1 dies holding the lease
	g2 := h.service("g2", func(p *Params) { quick(p); p.Now = func() time.Time { return time.Now().Add(7 * time.Second) } })
	h.run(g2)
	waitFor(t, 10*time.Second, "delivery by the second gateway", func() bool { return len(r.delivered()) == 1 })
	if d := r.delivered()[0]; d.Data.ConversationID != "D" || d.Type != TypeConversationQueued {
		t.Errorf("delivered %+v", d)
	}
	if _, err := g2.Endpoint(context.Background(), ep.ID); err != nil {
		t.Fatal(err)
	}
}

// TestRotation: during a rotation both secrets sign, so a receiver holding
// only the old one keeps accepting.
func TestRotation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := h.service("g1", nil)
	oldOnly := newReceiver(t)
	ep := register(t, s, oldOnly)
	_, newSecret, err := s.RotateSecret(h.ctx, ep.ID, time.Hour)
	if err != nil || newSecret == "" {
		t.Fatal(err)
	}
	h.run(s)
	if _, err := s.Ping(h.ctx, ep.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "ping", func() bool { return len(oldOnly.delivered()) == 1 })
	sig := oldOnly.got[0].hdr.Get(HeaderSignature)
	if n := len(strings.Fields(sig)); n != 2 {
		t.Errorf("signature header %q has %d signatures during rotation, want 2", sig, n)
	}
}
