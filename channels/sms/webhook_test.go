package sms

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/channel"
)

func TestInboundStoresThenAnswersEmptyTwiML(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	text := "Hallo 👋🏽, 你好 — مرحبا\nline two"
	form := h.inbound(customer, ourNumber, text)
	w := h.post(InboundPath, form)
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/xml") ||
		!strings.Contains(w.Body.String(), "<Response/>") {
		t.Fatalf("answer %d %q %q", w.Code, w.Header().Get("Content-Type"), w.Body.String())
	}
	got := h.recv.Stored()
	if len(got) != 1 {
		t.Fatalf("stored %d messages", len(got))
	}
	in := got[0]
	if in.Channel != channel.SMS || in.From != customer || in.To != ourNumber || in.Text != text ||
		in.ProviderID != form.Get("MessageSid") || in.ReceivedAt.IsZero() || in.ThreadHint != "" {
		t.Fatalf("inbound %+v", in)
	}

	h.settle()
	msgs := h.fake.Messages()
	if len(msgs) != 1 {
		t.Fatalf("acknowledgements sent: %d", len(msgs))
	}
	ack := msgs[0]
	if ack.From != ourNumber || ack.To != customer || ack.StatusCallback != "" ||
		ack.Body != "Thanks for your message. A person will reply in about 3–5 minutes." {
		t.Fatalf("acknowledgement %+v", ack)
	}
	ps := h.promises.Got()
	if len(ps) != 1 || ps[0].Low != 3*time.Minute || ps[0].High != 5*time.Minute ||
		ps[0].Text != ack.Body || ps[0].ConversationID == "" {
		t.Fatalf("promises %+v", ps)
	}

	// A second text joins the open conversation: no second acknowledgement.
	if w := h.post(InboundPath, h.inbound(customer, ourNumber, "still there?")); w.Code != http.StatusOK {
		t.Fatalf("second text: %d", w.Code)
	}
	h.settle()
	if n := len(h.fake.Messages()); n != 1 {
		t.Fatalf("acknowledgements after a second text: %d", n)
	}
}

func TestInboundAnswersBeforeTheAcknowledgement(t *testing.T) {
	t.Parallel()
	block := make(chan struct{})
	h := newHarness(t, func(_ *Config, d *Deps, fc *fakeCore) {
		fc.est = &fakeEstimator{low: time.Minute, high: 2 * time.Minute, ok: true, block: block}
	})
	start := time.Now()
	w := h.post(InboundPath, h.inbound(customer, ourNumber, "hi"))
	if w.Code != http.StatusOK {
		t.Fatalf("answer %d", w.Code)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("webhook took %v with a blocked estimator", took)
	}
	if n := len(h.fake.Messages()); n != 0 {
		t.Fatalf("acknowledged before the estimate: %d", n)
	}
	close(block)
	h.settle()
	if n := len(h.fake.Messages()); n != 1 {
		t.Fatalf("acknowledgements: %d", n)
	}
}

func TestInboundRefusals(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config, _ *Deps, fc *fakeCore) { c.BodyLimit = 4096 })
	good := func() url.Values { return h.inbound(customer, ourNumber, "hello") }
	with := func(k, v string) url.Values { f := good(); f.Set(k, v); return f }
	without := func(k string) url.Values { f := good(); f.Del(k); return f }
	mms := func() url.Values {
		return h.inbound(customer, ourNumber, "pics", "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1")
	}
	tests := []struct {
		desc  string
		form  url.Values
		body  string // raw body instead of form.Encode()
		token string // "-" for no signature; "" for the right token
		url   string // signed URL; "" for the right one
		want  int
	}{
		{desc: "missing signature", form: good(), token: "-", want: 403},
		{desc: "signature with another token", form: good(), token: "0123456789abcdef0123456789abcdef", want: 403},
		{desc: "signature for another URL", form: good(), url: "https://other.example.com" + InboundPath, want: 403},
		{desc: "signature for the status URL", form: good(), url: publicURL + StatusPath, want: 403},
		{desc: "body over the limit", form: with("Body", strings.Repeat("a", 5000)), want: 413},
		{desc: "another account", form: with("AccountSid", "AC"+strings.Repeat("0", 32)), want: 403},
		{desc: "no MessageSid", form: without("MessageSid"), want: 400},
		{desc: "MessageSid of a call", form: with("MessageSid", "CA"+strings.Repeat("a", 32)), want: 400},
		{desc: "no AccountSid", form: without("AccountSid"), want: 400},
		{desc: "no From", form: without("From"), want: 400},
		{desc: "From not a number", form: with("From", "<script>"), want: 400},
		{desc: "From a WhatsApp address", form: with("From", "whatsapp:+14155550100"), want: 400},
		{desc: "From national", form: with("From", "4155550100"), want: 400},
		{desc: "To not a number", form: with("To", "our number"), want: 400},
		{desc: "Body not UTF-8", form: with("Body", "\xff\xfe"), want: 400},
		{desc: "NumMedia not a number", form: with("NumMedia", "two"), want: 400},
		{desc: "NumMedia negative", form: with("NumMedia", "-1"), want: 400},
		{desc: "NumMedia too large", form: with("NumMedia", "11"), want: 400},
		{desc: "media URL missing", form: with("NumMedia", "1"), want: 400},
		{desc: "media URL not http", form: func() url.Values { f := mms(); f.Set("MediaUrl0", "javascript:alert(1)"); return f }(), want: 400},
		{desc: "media type missing", form: func() url.Values { f := mms(); f.Del("MediaContentType0"); return f }(), want: 400},
		{desc: "second media missing", form: func() url.Values { f := mms(); f.Set("NumMedia", "2"); return f }(), want: 400},
		{desc: "form body not a form", body: "%zz=%%", form: url.Values{}, want: 403},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			body := tc.body
			if body == "" {
				body = tc.form.Encode()
			}
			token, signed := h.creds.AuthToken, publicURL+InboundPath
			switch tc.token {
			case "-":
				token = ""
			case "":
			default:
				token = tc.token
			}
			if tc.url != "" {
				signed = tc.url
			}
			w := h.postSigned(InboundPath, body, token, signed, tc.form)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d (%s)", w.Code, tc.want, w.Body.String())
			}
		})
	}
	if n := len(h.recv.Stored()); n != 0 {
		t.Fatalf("%d refused messages were passed on", n)
	}
	h.recv.mu.Lock()
	calls := h.recv.calls
	h.recv.mu.Unlock()
	if calls != 0 {
		t.Fatalf("receiver called %d times", calls)
	}
	if n := len(h.fake.Messages()); n != 0 {
		t.Fatalf("%d texts sent for refused webhooks", n)
	}
}

func TestSameMessageSidFromTenGoroutines(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	form := h.inbound(customer, ourNumber, "my order is late")
	var wg sync.WaitGroup
	codes := make([]int, 10)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = h.post(InboundPath, form).Code
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK {
			t.Fatalf("retry %d answered %d", i, c)
		}
	}
	if n := len(h.recv.Stored()); n != 1 {
		t.Fatalf("stored %d messages for one MessageSid", n)
	}
	h.settle()
	if n := len(h.fake.Messages()); n != 1 {
		t.Fatalf("sent %d acknowledgements for one MessageSid", n)
	}
}

func TestMMSKeepsMediaByReference(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	u0 := "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME0a"
	u1 := "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1b"
	form := h.inbound(customer, ourNumber, "", u0, u1)
	form.Set("MediaContentType1", "application/pdf")
	if w := h.post(InboundPath, form); w.Code != http.StatusOK {
		t.Fatalf("answer %d: %s", w.Code, w.Body.String())
	}
	in := h.recv.Stored()[0]
	if len(in.Attachments) != 2 || in.Attachments[0].URL != u0 || in.Attachments[0].ContentType != "image/jpeg" ||
		in.Attachments[0].Name != "ME0a" || in.Attachments[1].ContentType != "application/pdf" || in.Attachments[1].StoredPath != "" {
		t.Fatalf("attachments %+v", in.Attachments)
	}
}

func TestReceiverFailureAnswers503(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.recv.err = errors.New("redis down")
	if w := h.post(InboundPath, h.inbound(customer, ourNumber, "hi")); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("answer %d", w.Code)
	}
	h.settle()
	if n := len(h.fake.Messages()); n != 0 {
		t.Fatalf("acknowledged an unstored message: %d", n)
	}
}

func TestQueueByNumber(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	for _, tc := range []struct{ to, want string }{
		{ourNumber, "support"}, {salesNumber, "sales"}, {"+4420 7183 8750", "sales"}, {"+15550000000", "general"}, {"garbage", "general"},
	} {
		if got := h.ch.QueueFor(tc.to); got != tc.want {
			t.Errorf("QueueFor(%q) = %q, want %q", tc.to, got, tc.want)
		}
	}
	// The estimate asked for is the one of the texted number's queue.
	h.post(InboundPath, h.inbound(customer, salesNumber, "hi"))
	h.settle()
	h.est.mu.Lock()
	defer h.est.mu.Unlock()
	if len(h.est.queues) != 1 || h.est.queues[0] != "sales" {
		t.Fatalf("estimated queues %v", h.est.queues)
	}
}

func TestKeywords(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	text := func(body string) {
		t.Helper()
		if w := h.post(InboundPath, h.inbound(customer, ourNumber, body)); w.Code != http.StatusOK {
			t.Fatalf("%q answered %d", body, w.Code)
		}
		h.settle()
	}
	optedOut := func() bool {
		v, _ := h.optOuts.IsOptedOut(t.Context(), channel.SMS, customer)
		return v
	}
	text(" stop ")
	if !optedOut() {
		t.Fatal("STOP did not opt out")
	}
	if n := len(h.fake.Messages()); n != 0 {
		t.Fatalf("texted a customer who just sent STOP: %d", n)
	}
	if n := len(h.recv.Stored()); n != 1 {
		t.Fatalf("STOP not kept in the transcript: %d", n)
	}
	_, err := h.ch.Send(t.Context(), channel.Outbound{Channel: channel.SMS, From: ourNumber, To: customerFrom, Text: "hello?"})
	if code, ok := permanentCode(err); !ok || code != "21610" || !strings.Contains(err.Error(), "START") {
		t.Fatalf("send to opted-out customer: %v", err)
	}
	if n := len(h.fake.Requests()); n != 0 {
		t.Fatalf("called Twilio for an opted-out customer: %d", n)
	}
	text("Stop please") // not a keyword: an ordinary message
	if !optedOut() {
		t.Fatal("ordinary message changed the opt-out")
	}
	text("UNSTOP")
	if optedOut() {
		t.Fatal("UNSTOP did not opt back in")
	}
	for _, kw := range []string{"STOPALL", "unsubscribe", "Cancel", "END", "quit"} {
		text(kw)
		if !optedOut() {
			t.Fatalf("%s did not opt out", kw)
		}
		text("start")
		if optedOut() {
			t.Fatal("START did not opt back in")
		}
	}
	if _, err := h.ch.Send(t.Context(), channel.Outbound{From: ourNumber, To: customer, Text: "welcome back"}); err != nil {
		t.Fatalf("send after START: %v", err)
	}
}

func TestOptOutStoreDownAnswers503(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.optOuts.err = errors.New("redis down")
	if w := h.post(InboundPath, h.inbound(customer, ourNumber, "STOP")); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("answer %d", w.Code)
	}
	if n := len(h.recv.Stored()); n != 0 {
		t.Fatalf("stored a STOP whose opt-out was not recorded")
	}
	_, err := h.ch.Send(t.Context(), channel.Outbound{From: ourNumber, To: customer, Text: "hi"})
	if !errors.Is(err, channel.ErrTemporary) {
		t.Fatalf("send with the opt-out store down: %v", err)
	}
}

func TestHelpReachesAPersonWithoutOurAcknowledgement(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.post(InboundPath, h.inbound(customer, ourNumber, "HELP"))
	h.settle()
	if n := len(h.recv.Stored()); n != 1 {
		t.Fatalf("HELP not passed on: %d", n)
	}
	if n := len(h.fake.Messages()); n != 0 {
		t.Fatalf("we answered HELP ourselves (Twilio does): %d", n)
	}
}
