package sms

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/twilioapi"
	"github.com/switchboard/switchboard/internal/twilioapi/twiliotest"
)

const (
	publicURL    = "https://sb.example.com"
	ourNumber    = "+14155550199"
	salesNumber  = "+442071838750"
	customer     = "+14155550100"
	customerFrom = "+1 (415) 555-0100" // how an agent might type it
)

// fakeReceiver deduplicates by provider id and threads by customer like
// the conversation service promises to.
type fakeReceiver struct {
	mu     sync.Mutex
	seen   map[string]channel.Receipt
	open   map[string]string // customer → open conversation
	stored []channel.Inbound
	calls  int
	err    error
	seq    int
	// optOut is the opt-out the receipts report, as the core reads it
	// along the message; unread unless a test sets it.
	optOut channel.OptOut
}

func newFakeReceiver() *fakeReceiver {
	return &fakeReceiver{seen: map[string]channel.Receipt{}, open: map[string]string{}}
}

func (f *fakeReceiver) Receive(_ context.Context, in channel.Inbound) (channel.Receipt, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return channel.Receipt{}, f.err
	}
	key := string(in.Channel) + "/" + in.ProviderID
	if r, ok := f.seen[key]; ok {
		r.Duplicate, r.NewConversation = true, false
		return r, nil
	}
	f.seq++
	r := channel.Receipt{MessageID: "m" + string(rune('0'+f.seq)), CustomerID: "cust-" + in.From, OptOut: f.optOut}
	if conv, ok := f.open[in.From]; ok {
		r.ConversationID = conv
	} else {
		r.ConversationID = "conv-" + in.ProviderID[:8]
		r.NewConversation = true
		f.open[in.From] = r.ConversationID
	}
	f.seen[key] = r
	f.stored = append(f.stored, in)
	return r, nil
}

func (f *fakeReceiver) Stored() []channel.Inbound {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]channel.Inbound(nil), f.stored...)
}

type fakeStatus struct {
	mu  sync.Mutex
	got []channel.DeliveryStatus
	err error // answered to every update, when set
}

func (f *fakeStatus) UpdateDelivery(_ context.Context, st channel.DeliveryStatus) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, st)
	return f.err
}

func (f *fakeStatus) Got() []channel.DeliveryStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]channel.DeliveryStatus(nil), f.got...)
}

type memOptOuts struct {
	mu    sync.Mutex
	out   map[string]bool
	err   error
	reads int // IsOptedOut calls
}

func (m *memOptOuts) readCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reads
}

func (m *memOptOuts) SetOptOut(_ context.Context, ch channel.Name, addr string, v bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	if m.out == nil {
		m.out = map[string]bool{}
	}
	m.out[string(ch)+":"+addr] = v
	return nil
}

func (m *memOptOuts) IsOptedOut(_ context.Context, ch channel.Name, addr string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	return m.out[string(ch)+":"+addr], m.err
}

type fakeEstimator struct {
	low, high time.Duration
	ok        bool
	err       error
	block     chan struct{} // when set, Estimate waits for it to close
	mu        sync.Mutex
	queues    []string
}

func (f *fakeEstimator) estimate(ctx context.Context, queue string) (channel.Place, error) {
	f.mu.Lock()
	f.queues = append(f.queues, queue)
	f.mu.Unlock()
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
		}
	}
	return channel.Place{Low: f.low, High: f.high, Known: f.ok}, f.err
}

// told is one channel.Core.Told call.
type told struct {
	ConversationID, Text string
	Low, High            time.Duration
}

// fakeCore is the channel.Core the channel is tested against: the receiver
// and status fakes, an estimator (nil: no estimate) and what it was told.
type fakeCore struct {
	*fakeReceiver
	*fakeStatus
	est *fakeEstimator

	mu       sync.Mutex
	told     []told
	answered map[string]bool // conversations an agent has replied in
	asked    int             // Answered calls
}

func (f *fakeCore) Answered(_ context.Context, convID string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked++
	return f.answered[convID], nil
}

func (f *fakeCore) answer(convID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.answered == nil {
		f.answered = map[string]bool{}
	}
	f.answered[convID] = true
}

func (f *fakeCore) Estimate(ctx context.Context, queue string) (channel.Place, error) {
	if f.est == nil {
		return channel.Place{}, nil
	}
	return f.est.estimate(ctx, queue)
}

func (f *fakeCore) Told(_ context.Context, convID, text string, p channel.Place) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.told = append(f.told, told{ConversationID: convID, Text: text, Low: p.Low, High: p.High})
	return nil
}

func (f *fakeCore) Got() []told {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]told(nil), f.told...)
}

func (f *fakeCore) Place(context.Context, string) (channel.Place, error) { return channel.Place{}, nil }
func (f *fakeCore) Record(context.Context, string, string, string) error { return nil }
func (f *fakeCore) Abandon(context.Context, string) error                { return nil }
func (f *fakeCore) CustomerEnded(context.Context, string) error          { return nil }
func (f *fakeCore) Missed(context.Context, string, string) error         { return nil }

func newFakeCore() *fakeCore {
	return &fakeCore{fakeReceiver: newFakeReceiver(), fakeStatus: &fakeStatus{}}
}

// syncBuffer collects log output from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type harness struct {
	t        *testing.T
	creds    twilioapi.Credentials
	fake     *twiliotest.Server
	ch       *Channel
	e        *echo.Echo
	recv     *fakeReceiver
	status   *fakeStatus
	optOuts  *memOptOuts
	est      *fakeEstimator
	promises *fakeCore // the core: what it was told
	logs     *syncBuffer
}

// newHarness builds a channel against the Twilio fake; edit may change
// config and deps before New.
func newHarness(t *testing.T, edit func(*Config, *Deps, *fakeCore)) *harness {
	t.Helper()
	h := &harness{t: t, creds: twiliotest.Credentials(), recv: newFakeReceiver(), status: &fakeStatus{},
		optOuts: &memOptOuts{}, est: &fakeEstimator{low: 3 * time.Minute, high: 5 * time.Minute, ok: true},
		logs: &syncBuffer{}}
	h.fake = twiliotest.New(t, h.creds)
	cfg := Config{
		Credentials: h.creds, PublicURL: publicURL, APIBaseURL: h.fake.URL,
		Numbers:      map[string]string{ourNumber: "support", "+44 20 7183 8750": "sales"},
		DefaultQueue: "general",
	}
	h.promises = &fakeCore{fakeReceiver: h.recv, fakeStatus: h.status, est: h.est}
	deps := Deps{OptOuts: h.optOuts, Logger: slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if edit != nil {
		edit(&cfg, &deps, h.promises)
	}
	ch, err := New(cfg, h.promises, deps)
	if err != nil {
		t.Fatal(err)
	}
	h.ch = ch
	ch.ackRetryWait = time.Millisecond
	h.e = echo.New()
	ch.Register(h.e)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := ch.Close(ctx); err != nil {
			t.Error(err)
		}
		assertNoSecrets(t, h.creds, h.logs.String())
	})
	return h
}

// post sends form to path, signed for signedURL with token ("" = no
// signature header).
func (h *harness) postSigned(path string, body string, token, signedURL string, form url.Values) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if token != "" {
		r.Header.Set(twilioapi.SignatureHeader, twilioapi.Sign(token, signedURL, form))
	}
	w := httptest.NewRecorder()
	h.e.ServeHTTP(w, r)
	return w
}

// post sends form to path the way Twilio would.
func (h *harness) post(path string, form url.Values) *httptest.ResponseRecorder {
	return h.postSigned(path, form.Encode(), h.creds.AuthToken, publicURL+path, form)
}

func (h *harness) inbound(from, to, body string, media ...string) url.Values {
	return twiliotest.InboundSMS(h.creds.AccountSID, from, to, body, media...)
}

// settle waits for background acknowledgements to finish.
func (h *harness) settle() {
	h.t.Helper()
	h.ch.acks.Wait()
}

func assertNoSecrets(t *testing.T, c twilioapi.Credentials, s string) {
	t.Helper()
	if strings.Contains(s, c.AuthToken) || strings.Contains(s, c.AccountSID) {
		t.Errorf("credentials leaked: %s", s)
	}
}

func permanentCode(err error) (string, bool) {
	var p *channel.PermanentError
	if errors.As(err, &p) {
		return p.Code, true
	}
	return "", false
}

// postRaw sends body to path with the given signature header.
func (h *harness) postRaw(path, body, sig string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set(twilioapi.SignatureHeader, sig)
	w := httptest.NewRecorder()
	h.e.ServeHTTP(w, r)
	return w
}

func failure429() twiliotest.Failure {
	return twiliotest.Failure{HTTPStatus: 429, Code: 20429, Message: "Too Many Requests"}
}
