package realtime

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/redistest"
)

// testProtocol is a tiny line protocol for the tests: "sub <topic>" and
// "unsub <topic>" answer "ok <topic>", "panic" panics, anything else that
// does not start with "echo " is a bad message.
func testProtocol(c *Conn, msg []byte) error {
	s := string(msg)
	switch {
	case strings.HasPrefix(s, "sub "):
		topic := strings.TrimPrefix(s, "sub ")
		if err := c.Subscribe(c.Context(), topic); err != nil {
			return err
		}
		return c.Send([]byte("ok " + topic))
	case strings.HasPrefix(s, "unsub "):
		topic := strings.TrimPrefix(s, "unsub ")
		c.Unsubscribe(topic)
		return c.Send([]byte("ok " + topic))
	case s == "panic":
		panic("test handler panic")
	case strings.HasPrefix(s, "echo "):
		return c.Send(msg[len("echo "):])
	}
	return errors.New("unknown command")
}

func newHub(t testing.TB, cfg Config) *Hub {
	t.Helper()
	h, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return h
}

// serve starts an httptest server upgrading every request on h and
// returns its ws:// URL.
func serve(t testing.TB, h *Hub, opts UpgradeOptions) (*httptest.Server, string) {
	t.Helper()
	if opts.OnMessage == nil {
		opts.OnMessage = testProtocol
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = h.Upgrade(w, r, opts)
	}))
	t.Cleanup(srv.Close)
	return srv, "ws" + strings.TrimPrefix(srv.URL, "http")
}

func dial(t testing.TB, url string, header http.Header) *websocket.Conn {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(url, header)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", url, err, status)
	}
	t.Cleanup(func() { _ = ws.Close() })
	return ws
}

func send(t testing.TB, ws *websocket.Conn, msg string) {
	t.Helper()
	if err := ws.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		t.Fatalf("write %q: %v", msg, err)
	}
}

func expect(t testing.TB, ws *websocket.Conn, want string) {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, got, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read, want %q: %v", want, err)
	}
	if string(got) != want {
		t.Fatalf("read %q, want %q", got, want)
	}
}

// expectNothing fails if a message arrives within a short wait: it is how
// the tests prove a publish is not delivered twice.
func expectNothing(t testing.TB, ws *websocket.Conn) {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
	if _, got, err := ws.ReadMessage(); err == nil {
		t.Fatalf("unexpected message %q", got)
	}
}

// closeCode reads until the server closes and returns the close code.
func closeCode(t testing.TB, ws *websocket.Conn) int {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := ws.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		t.Fatalf("read ended without a close frame: %v", err)
	}
}

func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func numSub(t testing.TB, rdb *redis.Client, ch string) int64 {
	t.Helper()
	n, err := rdb.PubSubNumSub(context.Background(), ch).Result()
	if err != nil {
		t.Fatalf("PUBSUB NUMSUB: %v", err)
	}
	return n[ch]
}

func TestPublishLocalWithoutRedis(t *testing.T) {
	t.Parallel()
	h := newHub(t, Config{})
	_, url := serve(t, h, UpgradeOptions{})
	a, b := dial(t, url, nil), dial(t, url, nil)
	send(t, a, "sub conv:1")
	expect(t, a, "ok conv:1")
	send(t, b, "sub conv:2")
	expect(t, b, "ok conv:2")
	if err := h.Publish(context.Background(), "conv:1", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	expect(t, a, "hello")
	expectNothing(t, b)
	send(t, a, "unsub conv:1")
	expect(t, a, "ok conv:1")
	if err := h.Publish(context.Background(), "conv:1", []byte("gone")); err != nil {
		t.Fatal(err)
	}
	expectNothing(t, a)
	if err := h.Publish(context.Background(), "bad topic", nil); !errors.Is(err, ErrBadTopic) {
		t.Fatalf("publish to bad topic: %v, want ErrBadTopic", err)
	}
}

func TestCrossGatewayDelivery(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t, redistest.Options{})
	h1 := newHub(t, Config{Redis: s.NewClient(t), Workspace: "acme"})
	h2 := newHub(t, Config{Redis: s.NewClient(t), Workspace: "acme"})
	_, url1 := serve(t, h1, UpgradeOptions{})
	_, url2 := serve(t, h2, UpgradeOptions{})
	agent, customer := dial(t, url1, nil), dial(t, url2, nil)
	send(t, agent, "sub conv:7")
	expect(t, agent, "ok conv:7")
	send(t, customer, "sub conv:7")
	expect(t, customer, "ok conv:7")

	ctx := context.Background()
	if err := h1.Publish(ctx, "conv:7", []byte("from agent")); err != nil {
		t.Fatal(err)
	}
	expect(t, agent, "from agent")
	expect(t, customer, "from agent")
	if err := h2.Publish(ctx, "conv:7", []byte("from customer")); err != nil {
		t.Fatal(err)
	}
	expect(t, customer, "from customer")
	expect(t, agent, "from customer")
	// Each node skips the echo of its own publish from Redis.
	expectNothing(t, agent)
	expectNothing(t, customer)

	// Another workspace's hub shares the Redis but not the topic.
	other := newHub(t, Config{Redis: s.NewClient(t), Workspace: "other"})
	if err := other.Publish(ctx, "conv:7", []byte("other workspace")); err != nil {
		t.Fatal(err)
	}
	expectNothing(t, agent)
}

func TestRedisSubscriptionFollowsLocalSubscribers(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t, redistest.Options{})
	rdb := s.NewClient(t)
	h := newHub(t, Config{Redis: s.NewClient(t), Workspace: "ws1"})
	ch := h.Channel("supervisor")
	if ch != "sb:{ws1}:rt:supervisor" {
		t.Fatalf("channel %q", ch)
	}
	ctx := context.Background()
	p1, p2 := NewPipe(), NewPipe()
	c1, err := h.Attach(p1, ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := h.Attach(p2, ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := numSub(t, rdb, ch); n != 0 {
		t.Fatalf("before any subscriber: NUMSUB %d", n)
	}
	if err := c1.Subscribe(ctx, "supervisor"); err != nil {
		t.Fatal(err)
	}
	// Subscribe returned, so Redis has confirmed: no eventually needed.
	if n := numSub(t, rdb, ch); n != 1 {
		t.Fatalf("after first subscriber: NUMSUB %d, want 1", n)
	}
	if err := c2.Subscribe(ctx, "supervisor"); err != nil {
		t.Fatal(err)
	}
	if n := numSub(t, rdb, ch); n != 1 {
		t.Fatalf("after second subscriber: NUMSUB %d, want still 1", n)
	}
	c1.Unsubscribe("supervisor")
	if n := numSub(t, rdb, ch); n != 1 {
		t.Fatalf("one subscriber left: NUMSUB %d, want 1", n)
	}
	c2.Close(CloseNormal, "bye")
	eventually(t, "Redis unsubscribe after the last subscriber left", func() bool {
		return numSub(t, rdb, ch) == 0
	})
	if h.Subscribers("supervisor") != 0 {
		t.Fatalf("local subscribers %d", h.Subscribers("supervisor"))
	}
	select {
	case <-c2.Context().Done():
	default:
		t.Fatal("closed connection's context not cancelled")
	}
	if err := c2.Subscribe(ctx, "supervisor"); !errors.Is(err, ErrClosed) {
		t.Fatalf("subscribe after close: %v, want ErrClosed", err)
	}
	eventually(t, "no Redis subscription left by the refused subscribe", func() bool {
		return numSub(t, rdb, ch) == 0
	})
}

func TestSlowConsumerPipe(t *testing.T) {
	t.Parallel()
	h := newHub(t, Config{MaxQueueBytes: 256 << 10})
	p := NewPipe()
	closed := make(chan int, 1)
	c, err := h.Attach(p, ConnOptions{OnClose: func(_ *Conn, code int, _ string) { closed <- code }})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Subscribe(context.Background(), "agent:ana"); err != nil {
		t.Fatal(err)
	}
	payload := bytes.Repeat([]byte("x"), 100<<10)
	start := time.Now()
	for range 10 { // the client reads nothing
		if err := h.Publish(context.Background(), "agent:ana", payload); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("publishing to a stuck client took %s: the publisher waited", d)
	}
	if code := <-closed; code != CloseSlowConsumer {
		t.Fatalf("closed with %d, want %d", code, CloseSlowConsumer)
	}
	if code, _, ok := p.CloseCode(); !ok || code != CloseSlowConsumer {
		t.Fatalf("transport closed %v with %d", ok, code)
	}
	if err := c.Send([]byte("late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after close: %v", err)
	}
	if err := func() error {
		c2, err := h.Attach(NewPipe(), ConnOptions{})
		if err != nil {
			return err
		}
		return c2.Send(make([]byte, 300<<10))
	}(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized send: %v, want ErrTooLarge", err)
	}
}

func TestSlowConsumerWebsocket(t *testing.T) {
	t.Parallel()
	h := newHub(t, Config{MaxQueueBytes: 1 << 20, WriteTimeout: 10 * time.Second})
	closed := make(chan int, 1)
	_, url := serve(t, h, UpgradeOptions{ConnOptions: ConnOptions{
		OnMessage: testProtocol,
		OnClose:   func(_ *Conn, code int, _ string) { closed <- code },
	}})
	ws := dial(t, url, nil)
	send(t, ws, "sub visitor:v1")
	expect(t, ws, "ok visitor:v1")
	// The client now stops reading. Socket buffers take a few MiB, then
	// the hub's queue fills and the hub drops the client.
	// Once the queue is full the client is closed at once, but it leaves
	// its topics only after its transport closed, which may take a moment
	// on a machine busy with other tests: publishing goes on meanwhile (to
	// nobody), pausing now and then, for up to 20 s.
	payload := bytes.Repeat([]byte("y"), 64<<10)
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; h.Subscribers("visitor:v1") > 0; i++ {
		start := time.Now()
		if err := h.Publish(context.Background(), "visitor:v1", payload); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Fatalf("publish %d blocked for %s", i, d)
		}
		if start.After(deadline) {
			t.Fatal("never dropped the client")
		}
		if i%1000 == 999 {
			time.Sleep(time.Millisecond)
		}
	}
	if code := <-closed; code != CloseSlowConsumer {
		t.Fatalf("closed with %d, want %d", code, CloseSlowConsumer)
	}
	eventually(t, "connection gone", func() bool { return h.Len() == 0 })
}

func TestBadFrames(t *testing.T) {
	t.Parallel()
	h := newHub(t, Config{ReadLimit: 1024})
	_, url := serve(t, h, UpgradeOptions{})
	tests := []struct {
		desc string
		typ  int
		msg  []byte
		want int
	}{
		{desc: "binary frame", typ: websocket.BinaryMessage, msg: []byte{1, 2, 3}, want: CloseUnsupportedData},
		{desc: "invalid UTF-8", typ: websocket.TextMessage, msg: []byte{'a', 0xff, 0xfe}, want: CloseInvalidPayload},
		{desc: "over the read limit", typ: websocket.TextMessage, msg: bytes.Repeat([]byte("z"), 2048), want: CloseTooBig},
		{desc: "protocol rejects it", typ: websocket.TextMessage, msg: []byte("{not json"), want: CloseBadMessage},
		{desc: "handler panics", typ: websocket.TextMessage, msg: []byte("panic"), want: CloseInternalError},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			ws := dial(t, url, nil)
			if err := ws.WriteMessage(tc.typ, tc.msg); err != nil {
				t.Fatal(err)
			}
			if got := closeCode(t, ws); got != tc.want {
				t.Fatalf("close code %d, want %d", got, tc.want)
			}
		})
	}

	t.Run("raw garbage bytes", func(t *testing.T) {
		ws := dial(t, url, nil)
		send(t, ws, "echo alive")
		expect(t, ws, "alive")
		// Not a websocket frame at all: reserved bits and opcode set.
		if _, err := ws.NetConn().Write([]byte("\xff\xff\xff\xffGARBAGE\r\n")); err != nil {
			t.Fatal(err)
		}
		_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, _, err := ws.ReadMessage(); err == nil {
			t.Fatal("connection still open after garbage")
		}
	})
	eventually(t, "all bad connections dropped", func() bool { return h.Len() == 0 })
	// The hub is still serving.
	ws := dial(t, url, nil)
	send(t, ws, "echo still here")
	expect(t, ws, "still here")
}

// Issue 11 item 8: behind a TLS-terminating proxy the request is plain
// http, yet the console page is https: PublicURL gives the own origin's
// scheme, and an http page on the same host is refused.
func TestOriginSchemeFromPublicURL(t *testing.T) {
	t.Parallel()
	probe := httptest.NewServer(http.NotFoundHandler())
	host := strings.TrimPrefix(probe.URL, "http://")
	probe.Close()
	h := newHub(t, Config{PublicURL: "https://" + host})
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{"https://" + host, true},
		{"http://" + host, false},
	} {
		req := httptest.NewRequest(http.MethodGet, "http://"+host+"/ws", nil)
		req.Header.Set("Origin", tc.origin)
		if got := originAllowed(req, nil, h.publicURL); got != tc.ok {
			t.Errorf("Origin %s: allowed %v, want %v", tc.origin, got, tc.ok)
		}
	}
	if _, err := New(Config{PublicURL: "support.example.com"}); err == nil {
		t.Fatal("a PublicURL without scheme was accepted")
	}
}

func TestOrigin(t *testing.T) {
	t.Parallel()
	h := newHub(t, Config{})
	srv, sameOrigin := serve(t, h, UpgradeOptions{})
	_, listed := serve(t, h, UpgradeOptions{AllowedOrigins: []string{"https://console.example.com"}})
	tests := []struct {
		desc   string
		url    string
		origin string
		ok     bool
	}{
		{desc: "same origin", url: sameOrigin, origin: srv.URL, ok: true},
		{desc: "no origin header (not a browser)", url: sameOrigin, ok: true},
		{desc: "other site", url: sameOrigin, origin: "https://evil.example", ok: false},
		{desc: "malformed origin", url: sameOrigin, origin: "::", ok: false},
		{desc: "listed origin", url: listed, origin: "https://Console.example.com", ok: true},
		{desc: "own host not listed", url: listed, origin: srv.URL, ok: false},
		{desc: "listed host, other scheme", url: listed, origin: "http://console.example.com", ok: false},
		// Issue 11 item 8: the own-origin check compares the scheme too.
		{desc: "own host, other scheme", url: sameOrigin, origin: strings.Replace(srv.URL, "http://", "https://", 1), ok: false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			header := http.Header{}
			if tc.origin != "" {
				header.Set("Origin", tc.origin)
			}
			ws, resp, err := websocket.DefaultDialer.Dial(tc.url, header)
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				_ = ws.Close()
				return
			}
			if err == nil {
				_ = ws.Close()
				t.Fatal("upgrade allowed")
			}
			if resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Fatalf("want 403, got %v", resp)
			}
		})
	}
}

func TestPongWaitDropsSilentClient(t *testing.T) {
	t.Parallel()
	h := newHub(t, Config{PingInterval: 50 * time.Millisecond, PongWait: 400 * time.Millisecond})
	_, url := serve(t, h, UpgradeOptions{})
	live := dial(t, url, nil)
	silent := dial(t, url, nil)
	_ = silent // never reads, so never answers a ping
	// gorilla answers pings only while reading, so keep live reading.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = live.SetReadDeadline(time.Now().Add(1200 * time.Millisecond))
		_, _, _ = live.ReadMessage()
	}()
	eventually(t, "silent client dropped", func() bool { return h.Len() == 1 })
	wg.Wait()
	if h.Len() != 1 {
		t.Fatalf("live client dropped too: %d connections", h.Len())
	}
}

func TestShutdown(t *testing.T) {
	t.Parallel()
	h, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, url := serve(t, h, UpgradeOptions{})
	a, b := dial(t, url, nil), dial(t, url, nil)
	send(t, a, "sub supervisor")
	expect(t, a, "ok supervisor")
	send(t, b, "echo up")
	expect(t, b, "up")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for _, ws := range []*websocket.Conn{a, b} {
		if got := closeCode(t, ws); got != CloseGoingAway {
			t.Fatalf("close code %d, want %d", got, CloseGoingAway)
		}
	}
	if h.Len() != 0 {
		t.Fatalf("%d connections after shutdown", h.Len())
	}
	_, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial after shutdown: %v %v, want 503", err, resp)
	}
	if _, err := h.Attach(NewPipe(), ConnOptions{}); !errors.Is(err, ErrShuttingDown) {
		t.Fatalf("attach after shutdown: %v", err)
	}
}

// TestRedisDropKeepsSocketsAndResubscribes: when Redis goes away and comes
// back, no client socket is closed; the hub's subscriptions are renewed in
// place, so a connection subscribed before the drop hears other gateways'
// publishes after it without subscribing again, and its protocol is told
// it may have missed some.
func TestRedisDropKeepsSocketsAndResubscribes(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t, redistest.Options{})
	rdb := s.NewClient(t)
	gaps := make(chan struct{}, 10)
	h := newHub(t, Config{Redis: s.NewClient(t)})
	other := newHub(t, Config{Redis: s.NewClient(t)})
	p := NewPipe()
	c, err := h.Attach(p, ConnOptions{OnGap: func(*Conn) { gaps <- struct{}{} }})
	if err != nil {
		t.Fatal(err)
	}
	idle, err := h.Attach(NewPipe(), ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Subscribe(context.Background(), "agent:ana"); err != nil {
		t.Fatal(err)
	}
	s.Kill()
	select {
	case <-gaps:
	case <-time.After(5 * time.Second):
		t.Fatal("OnGap not called after Redis went away")
	}
	if err := s.Restart(redistest.Options{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "subscription renewed after the Redis restart", func() bool {
		return numSub(t, rdb, h.Channel("agent:ana")) == 1
	})
	eventually(t, "another gateway's publish reaches the old connection", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return other.Publish(ctx, "agent:ana", []byte("after")) == nil
	})
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		m, err := p.ClientRecv(ctx)
		cancel()
		if err != nil {
			t.Fatalf("no message after the restart: %v", err)
		}
		if string(m) == "after" {
			break
		}
	}
	for _, conn := range []*Conn{c, idle} {
		if code, closed := conn.CloseCode(); closed {
			t.Fatalf("connection %d closed with %d; sockets must survive a Redis drop", conn.ID(), code)
		}
	}
}

// TestAdmitRefusesNewConnectionsKeepsOld: past MaxConns the hub turns new
// clients away with 503, Retry-After and "busy, try again", while the
// connections it holds stay open and served.
func TestAdmitRefusesNewConnectionsKeepsOld(t *testing.T) {
	t.Parallel()
	h := newHub(t, Config{MaxConns: 2})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h.Admit(); err != nil {
			RefuseBusy(w)
			return
		}
		_, _ = h.Upgrade(w, r, UpgradeOptions{ConnOptions: ConnOptions{OnMessage: testProtocol}})
	}))
	t.Cleanup(srv.Close)
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	var kept []*websocket.Conn
	for range 2 {
		ws, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ws.Close() })
		kept = append(kept, ws)
	}
	eventually(t, "two connections held", func() bool { return h.Len() == 2 })
	_, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("third dial: %v %v; want 503", err, resp)
	}
	if ra := resp.Header.Get("Retry-After"); ra == "" {
		t.Error("no Retry-After on the refusal")
	}
	body := make([]byte, 100)
	n, _ := resp.Body.Read(body)
	if !strings.Contains(string(body[:n]), "busy, try again") {
		t.Errorf("refusal body %q", body[:n])
	}
	for _, ws := range kept {
		if err := ws.WriteMessage(websocket.TextMessage, []byte("echo still here")); err != nil {
			t.Fatal(err)
		}
		_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, m, err := ws.ReadMessage(); err != nil || string(m) != "still here" {
			t.Fatalf("held connection: %q %v", m, err)
		}
	}
}

// TestConcurrentSubscribesShareOneRedisSubscription: many connections
// subscribing one topic at once make one Redis subscription, and the last
// to leave removes it.
func TestConcurrentSubscribesShareOneRedisSubscription(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t, redistest.Options{})
	rdb := s.NewClient(t)
	h := newHub(t, Config{Redis: s.NewClient(t)})
	var conns []*Conn
	for range 50 {
		c, err := h.Attach(NewPipe(), ConnOptions{})
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(conns))
	for i, c := range conns {
		wg.Go(func() { errs <- c.Subscribe(context.Background(), "queue:support") })
		wg.Go(func() {
			errs <- c.Subscribe(context.Background(), "own:"+string(rune('a'+i%26))+strings.Repeat("x", i))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := numSub(t, rdb, h.Channel("queue:support")); n != 1 {
		t.Fatalf("NUMSUB %d, want 1", n)
	}
	for _, c := range conns {
		c.Close(CloseNormal, "bye")
	}
	eventually(t, "no Redis subscription left", func() bool {
		chans, err := rdb.PubSubChannels(context.Background(), "*").Result()
		return err == nil && len(chans) == 0
	})
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	if _, err := New(Config{Workspace: "a}b"}); err == nil {
		t.Fatal("workspace with a brace accepted")
	}
	if _, err := New(Config{PingInterval: time.Minute, PongWait: time.Second}); err == nil {
		t.Fatal("PongWait below PingInterval accepted")
	}
}

// TestPipeProtocol drives a protocol through a Pipe, the way protocol
// packages test themselves without sockets.
func TestPipeProtocol(t *testing.T) {
	t.Parallel()
	h := newHub(t, Config{})
	p := NewPipe()
	if _, err := h.Attach(p, ConnOptions{OnMessage: testProtocol, Label: "agent:ana"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	recv := func(want string) {
		t.Helper()
		got, err := p.ClientRecv(ctx)
		if err != nil || string(got) != want {
			t.Fatalf("ClientRecv: %q %v, want %q", got, err, want)
		}
	}
	if err := p.ClientSend([]byte("sub agent:ana")); err != nil {
		t.Fatal(err)
	}
	recv("ok agent:ana")
	if err := h.Publish(ctx, "agent:ana", []byte(`{"type":"offer"}`)); err != nil {
		t.Fatal(err)
	}
	recv(`{"type":"offer"}`)
	if err := p.ClientSend([]byte("nonsense")); err != nil {
		t.Fatal(err)
	}
	<-p.Done()
	if code, _, _ := p.CloseCode(); code != CloseBadMessage {
		t.Fatalf("close code %d, want %d", code, CloseBadMessage)
	}
	eventually(t, "topic left", func() bool { return h.Subscribers("agent:ana") == 0 })
}

// An agent's consoles on two gateways lose a conversation: Leave takes
// both off its topic, and a later publish on it reaches neither, while a
// frame published on the member topic after Leave still arrives.
func TestLeaveTakesMembersOffTopicOnEveryGateway(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t, redistest.Options{})
	h1 := newHub(t, Config{Redis: s.NewClient(t), Workspace: "acme"})
	h2 := newHub(t, Config{Redis: s.NewClient(t), Workspace: "acme"})
	_, url1 := serve(t, h1, UpgradeOptions{})
	_, url2 := serve(t, h2, UpgradeOptions{})
	here, there, other := dial(t, url1, nil), dial(t, url2, nil), dial(t, url2, nil)
	for _, ws := range []*websocket.Conn{here, there} {
		send(t, ws, "sub agent:a02")
		expect(t, ws, "ok agent:a02")
		send(t, ws, "sub conv:X")
		expect(t, ws, "ok conv:X")
	}
	// Another agent on conversation X keeps it.
	send(t, other, "sub conv:X")
	expect(t, other, "ok conv:X")

	ctx := context.Background()
	if err := h1.Leave(ctx, "agent:a02", "conv:X"); err != nil {
		t.Fatal(err)
	}
	if err := h1.Publish(ctx, "agent:a02", []byte("unassigned X")); err != nil {
		t.Fatal(err)
	}
	expect(t, here, "unassigned X")
	expect(t, there, "unassigned X")
	for _, h := range []*Hub{h1, h2} {
		if err := h.Publish(ctx, "conv:X", []byte("SECRET")); err != nil {
			t.Fatal(err)
		}
	}
	expect(t, other, "SECRET")
	expect(t, other, "SECRET")
	expectNothing(t, here)
	expectNothing(t, there)
	if n := h1.Subscribers("conv:X"); n != 0 {
		t.Fatalf("gateway 1 still has %d subscribers of conv:X", n)
	}
	if n := h2.Subscribers("conv:X"); n != 1 {
		t.Fatalf("gateway 2 has %d subscribers of conv:X, want the other agent only", n)
	}
	if err := h1.Publish(ctx, "conv:X", []byte("\x00leave\x00conv:X")); err == nil {
		t.Fatal("a payload posing as an instruction was published")
	}
}

// TestIdleConnectionHoldsOnlyItsReader: an idle connection costs one
// goroutine, its reader; a writer exists only while there is something to
// send, pings included. Not parallel: it counts the process's goroutines.
func TestIdleConnectionHoldsOnlyItsReader(t *testing.T) {
	h := newHub(t, Config{PingInterval: 20 * time.Millisecond, PongWait: time.Second})
	const n = 300
	base := runtime.NumGoroutine()
	pipes := make([]*Pipe, n)
	conns := make([]*Conn, n)
	for i := range pipes {
		pipes[i] = NewPipe()
		c, err := h.Attach(pipes[i], ConnOptions{})
		if err != nil {
			t.Fatalf("Attach: %v", err)
		}
		conns[i] = c
	}
	time.Sleep(100 * time.Millisecond) // several pings each
	// A ping in flight holds a writer for a moment; the count settles.
	eventually(t, "one goroutine per idle connection", func() bool { return runtime.NumGoroutine()-base <= n+10 })
	for i, c := range conns {
		if err := c.Send([]byte("hello")); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i, p := range pipes {
		if msg, err := p.ClientRecv(ctx); err != nil || string(msg) != "hello" {
			t.Fatalf("connection %d received %q, %v; want hello", i, msg, err)
		}
	}
	eventually(t, "the writers gone once their queues drained", func() bool { return runtime.NumGoroutine()-base <= n+10 })
}

// TestHandlingIsCappedAcrossCrowdConnections: past Config.MaxHandling the
// messages of other crowd connections wait their turn, none is lost, and
// each connection's messages are still handled in order; a connection
// outside the crowd (an agent's console) is handled meanwhile.
func TestHandlingIsCappedAcrossCrowdConnections(t *testing.T) {
	t.Parallel()
	h := newHub(t, Config{MaxHandling: 2})
	release := make(chan struct{})
	var mu sync.Mutex
	running, most := 0, 0
	got := map[int][]string{}
	const conns, each = 6, 3
	pipes := make([]*Pipe, conns)
	for i := range pipes {
		pipes[i] = NewPipe()
		if _, err := h.Attach(pipes[i], ConnOptions{Crowd: true, OnMessage: func(_ *Conn, msg []byte) error {
			mu.Lock()
			running++
			most = max(most, running)
			mu.Unlock()
			<-release
			mu.Lock()
			running--
			got[i] = append(got[i], string(msg))
			mu.Unlock()
			return nil
		}}); err != nil {
			t.Fatalf("Attach: %v", err)
		}
	}
	for n := range each {
		for _, p := range pipes {
			if err := p.ClientSend([]byte(strconv.Itoa(n))); err != nil {
				t.Fatal(err)
			}
		}
	}
	eventually(t, "two handlers running", func() bool { mu.Lock(); defer mu.Unlock(); return running == 2 })
	console := NewPipe()
	if _, err := h.Attach(console, ConnOptions{OnMessage: testProtocol}); err != nil {
		t.Fatalf("Attach: %v", err)
	}
	if err := console.ClientSend([]byte("echo accept")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if msg, err := console.ClientRecv(ctx); err != nil || string(msg) != "accept" {
		t.Fatalf("the console got %q, %v while the crowd waited; want its answer", msg, err)
	}
	close(release)
	eventually(t, "every message handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, msgs := range got {
			n += len(msgs)
		}
		return n == conns*each
	})
	mu.Lock()
	defer mu.Unlock()
	if most != 2 {
		t.Errorf("at most %d crowd handlers ran at once; want 2", most)
	}
	for i, msgs := range got {
		if !slices.Equal(msgs, []string{"0", "1", "2"}) {
			t.Errorf("connection %d handled %v; want 0 1 2 in order", i, msgs)
		}
	}
}
