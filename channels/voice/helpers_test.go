package voice

import (
	"context"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/redistest"
	"github.com/switchboard/switchboard/internal/twilioapi"
	"github.com/switchboard/switchboard/internal/twilioapi/twiliotest"
)

var server *redistest.Server

func TestMain(m *testing.M) { os.Exit(redistest.RunPackage(m, redistest.Options{}, &server)) }

const (
	publicURL = "https://sb.example.com"
	ourNumber = "+14155550199"
	caller    = "+14155550100"
	caller2   = "+14155550111"
)

var wsSeq atomic.Int64

// clock is a settable time for the channel and the fake core.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type harness struct {
	t     *testing.T
	ctx   context.Context
	creds twilioapi.Credentials
	fake  *twiliotest.Server
	core  *fakeCore
	clock *clock
	ch    *Channel
	e     *echo.Echo
}

// newHarness builds the channel on a real Redis (its own workspace), the
// Twilio fake and a fake core; edit may change config and deps before New.
func newHarness(t *testing.T, edit func(*Config, *Deps)) *harness {
	t.Helper()
	h := &harness{t: t, ctx: context.Background(), creds: twiliotest.Credentials(),
		clock: &clock{t: time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC)}}
	h.fake = twiliotest.New(t, h.creds)
	h.core = newFakeCore(h.clock.Now)
	h.core.queues[ourNumber] = "support"
	cfg := Config{
		Credentials: h.creds, PublicURL: publicURL, APIBaseURL: h.fake.URL,
		APIKeySID: "SK" + strings.Repeat("a", 32), APIKeySecret: "secret",
		Company: "Acme", Numbers: map[string]string{"+1 415 555 0199": "support"},
		HoldMusic: "https://cdn.example.com/hold.mp3",
	}
	deps := Deps{
		Core: h.core, Redis: server.NewClient(t), Workspace: "w" + strconv.FormatInt(wsSeq.Add(1), 10),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: h.clock.Now,
		Authenticate: func(r *http.Request) (string, error) {
			if c, err := r.Cookie("agent"); err == nil {
				return c.Value, nil
			}
			return "", errUnauthenticated
		},
	}
	if edit != nil {
		edit(&cfg, &deps)
	}
	ch, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	h.ch = ch
	h.e = echo.New()
	ch.Register(h.e)
	return h
}

type testError string

func (e testError) Error() string { return string(e) }

const errUnauthenticated = testError("no session")

// post sends a webhook to target (path plus our query) signed as Twilio
// signs it, and returns the answer.
func (h *harness) post(target string, form url.Values) *httptest.ResponseRecorder {
	h.t.Helper()
	return h.postSigned(target, form, h.fake.Sign(publicURL+target, form))
}

func (h *harness) postSigned(target string, form url.Values, sig string) *httptest.ResponseRecorder {
	h.t.Helper()
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if sig != "" {
		r.Header.Set(twilioapi.SignatureHeader, sig)
	}
	w := httptest.NewRecorder()
	h.e.ServeHTTP(w, r)
	return w
}

// twiml posts and parses the answer, which must be 200 TwiML.
func (h *harness) twiml(target string, form url.Values) node {
	h.t.Helper()
	w := h.post(target, form)
	if w.Code != http.StatusOK {
		h.t.Fatalf("POST %s: %d %s", target, w.Code, w.Body.String())
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/xml") {
		h.t.Fatalf("POST %s: content type %q", target, ct)
	}
	return parseTwiML(h.t, w.Body.String())
}

// call is one inbound call as Twilio posts about it.
type call struct {
	h    *harness
	sid  string
	from string
	conv string
}

// dial makes an inbound call from from and returns it with the answer.
func (h *harness) dial(from string) (*call, node) {
	h.t.Helper()
	form := twiliotest.InboundCall(h.creds.AccountSID, from, ourNumber)
	doc := h.twiml(InboundPath, form)
	c := &call{h: h, sid: form.Get("CallSid"), from: from}
	if cs, ok, err := h.ch.calls.get(h.ctx, c.sid); err != nil || !ok {
		h.t.Fatalf("call %s not stored: %v", c.sid, err)
	} else {
		c.conv = cs.Conv
	}
	return c, doc
}

// form is a webhook about the call with extra parameters.
func (c *call) form(status string, kv ...string) url.Values {
	f := twiliotest.CallForm(c.h.creds.AccountSID, c.sid, c.from, ourNumber, status)
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return f
}

func (c *call) wait(queueSid string) node {
	c.h.t.Helper()
	return c.h.twiml(WaitPath, c.form("in-progress", "QueueSid", queueSid, "QueuePosition", "1",
		"QueueTime", "10", "AvgQueueTime", "30", "CurrentQueueSize", "2", "MaxQueueSize", "1000"))
}

func (c *call) state() callState {
	c.h.t.Helper()
	cs, _, err := c.h.ch.calls.get(c.h.ctx, c.sid)
	if err != nil {
		c.h.t.Fatal(err)
	}
	return cs
}

// node is a parsed TwiML element.
type node struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Text     string     `xml:",chardata"`
	Children []node     `xml:",any"`
}

func parseTwiML(t testing.TB, s string) node {
	t.Helper()
	var n node
	if err := xml.Unmarshal([]byte(s), &n); err != nil {
		t.Fatalf("not XML: %v\n%s", err, s)
	}
	if n.XMLName.Local != "Response" {
		t.Fatalf("root %s, want Response:\n%s", n.XMLName.Local, s)
	}
	return n
}

func (n node) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// names lists the element names of n's children: "Say Enqueue".
func (n node) names() string {
	var s []string
	for _, c := range n.Children {
		s = append(s, c.XMLName.Local)
	}
	return strings.Join(s, " ")
}

func (n node) child(name string) node {
	for _, c := range n.Children {
		if c.XMLName.Local == name {
			return c
		}
	}
	return node{}
}

func (n node) text() string { return strings.TrimSpace(n.Text) }

// pathOf is the path and query of one of our absolute URLs.
func pathOf(t testing.TB, u string) string {
	t.Helper()
	p, ok := strings.CutPrefix(u, publicURL)
	if !ok {
		t.Fatalf("URL %q is not under the public URL", u)
	}
	return p
}

// with is a copy of form with the pairs kv set.
func with(form url.Values, kv ...string) url.Values {
	out := url.Values{}
	for k, v := range form {
		out[k] = append([]string(nil), v...)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out.Set(kv[i], kv[i+1])
	}
	return out
}

func channelOutbound() channel.Outbound {
	return channel.Outbound{ConversationID: "conv-1", Channel: channel.Voice, To: caller, Text: "hi"}
}
