package sms

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/twilioapi/twiliotest"
)

func TestSendGoesToTwilioWithStatusCallback(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	res, err := h.ch.Send(t.Context(), channel.Outbound{ConversationID: "c1", MessageID: "m1",
		Channel: channel.SMS, From: ourNumber, To: customerFrom, Text: "Your parcel ships today.", Attempt: 1})
	if err != nil {
		t.Fatal(err)
	}
	msgs := h.fake.Messages()
	if len(msgs) != 1 {
		t.Fatalf("sent %d", len(msgs))
	}
	m := msgs[0]
	if m.From != ourNumber || m.To != customer || m.Body != "Your parcel ships today." || m.StatusCallback != publicURL+StatusPath {
		t.Fatalf("sent %+v", m)
	}
	if res.ProviderID != m.Sid || res.Status != "queued" {
		t.Fatalf("result %+v", res)
	}
	if !h.fake.Requests()[0].Authorized {
		t.Fatal("not authenticated")
	}
}

func TestSendRoundTripsTextByteExact(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	for _, text := range []string{
		"emoji 👩🏽‍💻🇩🇪❤️‍🔥 and ZWJ sequences",
		"Ελληνικά, русский, עברית, العربية, हिन्दी, 日本語, 한국어, ไทย",
		"combining e\u0301 vs é, NBSP\u00a0here, tab\tand\r\nCRLF",
		"GSM specials: @£$¥èéùìòÇØøÅå_^{}\\[~]|€",
		"+&=%20 not an escape; <b>not html</b>",
		strings.Repeat("ü", 1600),
		strings.Repeat("🙂", 800), // 1600 UTF-16 units
	} {
		if _, err := h.ch.Send(t.Context(), channel.Outbound{From: ourNumber, To: customer, Text: text}); err != nil {
			t.Fatalf("send %q: %v", text[:20], err)
		}
		msgs := h.fake.Messages()
		if got := msgs[len(msgs)-1].Body; got != text {
			t.Fatalf("body changed in transit:\n got %q\nwant %q", got, text)
		}
	}
}

func TestSendFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc          string
		fail          *twiliotest.Failure
		out           channel.Outbound
		wantTemporary bool
		wantBusy      bool // put off without using an attempt
		wantAfter     time.Duration
		wantCode      string
		wantCalls     int
	}{
		{desc: "rate limited", fail: &twiliotest.Failure{HTTPStatus: 429, Code: 20429, Message: "Too Many Requests"},
			wantTemporary: true, wantBusy: true, wantCalls: 1},
		{desc: "rate limited, asking for 7 s", fail: &twiliotest.Failure{HTTPStatus: 429, Code: 20429, Message: "Too Many Requests", RetryAfter: "7"},
			wantTemporary: true, wantBusy: true, wantAfter: 7 * time.Second, wantCalls: 1},
		{desc: "rate limited, asking for an hour: a minute", fail: &twiliotest.Failure{HTTPStatus: 429, Code: 20429, Message: "Too Many Requests", RetryAfter: "3600"},
			wantTemporary: true, wantBusy: true, wantAfter: time.Minute, wantCalls: 1},
		{desc: "Twilio down", fail: &twiliotest.Failure{HTTPStatus: 503, Code: 20503, Message: "Service Unavailable"},
			wantTemporary: true, wantCalls: 1},
		{desc: "proxy error page", fail: &twiliotest.Failure{HTTPStatus: 502, RawBody: "<h1>Bad Gateway</h1>"},
			wantTemporary: true, wantCalls: 1},
		{desc: "invalid To", fail: &twiliotest.Failure{HTTPStatus: 400, Code: 21211, Message: "Invalid 'To' Phone Number: +1415555010"},
			wantCode: "21211", wantCalls: 1},
		{desc: "From not ours", fail: &twiliotest.Failure{HTTPStatus: 400, Code: 21606, Message: "The 'From' phone number provided is not a valid message-capable Twilio phone number for this destination."},
			wantCode: "21606", wantCalls: 1},
		{desc: "too long, refused before calling", out: channel.Outbound{From: ourNumber, To: customer, Text: strings.Repeat("🙂", 801)},
			wantCode: "21617"},
		{desc: "customer address not a number", out: channel.Outbound{From: ourNumber, To: "maria@example.com", Text: "hi"},
			wantCode: "21211"},
		{desc: "no number to send from", out: channel.Outbound{To: customer, Text: "hi"}, wantCode: "21603"},
		{desc: "empty", out: channel.Outbound{From: ourNumber, To: customer}, wantCode: "21602"},
		{desc: "attachment without URL", out: channel.Outbound{From: ourNumber, To: customer, Text: "see file",
			Attachments: []channel.Attachment{{Name: "invoice.pdf", StoredPath: "a/b"}}}, wantCode: "21620"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil)
			if tc.fail != nil {
				h.fake.FailNext(*tc.fail)
			}
			out := tc.out
			if out.To == "" && out.From == "" {
				out = channel.Outbound{From: ourNumber, To: customer, Text: "hi"}
			}
			_, err := h.ch.Send(t.Context(), out)
			if err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(err, channel.ErrTemporary); got != tc.wantTemporary {
				t.Fatalf("temporary = %v: %v", got, err)
			}
			var busy *channel.BusyError
			if got := errors.As(err, &busy); got != tc.wantBusy {
				t.Fatalf("busy = %v: %v", got, err)
			}
			if busy != nil && busy.RetryAfter != tc.wantAfter {
				t.Fatalf("busy, retry after %s, want %s: %v", busy.RetryAfter, tc.wantAfter, err)
			}
			if code, _ := permanentCode(err); code != tc.wantCode {
				t.Fatalf("permanent code %q, want %q: %v", code, tc.wantCode, err)
			}
			if n := len(h.fake.Requests()); n != tc.wantCalls {
				t.Fatalf("%d calls to Twilio, want %d", n, tc.wantCalls)
			}
			assertNoSecrets(t, h.creds, err.Error())
		})
	}
}

// Send takes the opt-out the outbox read with its claim and reads the
// store only when nobody did.
func TestSendTakesTheOptOutTheOutboxRead(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	if err := h.optOuts.SetOptOut(t.Context(), channel.SMS, customer, true); err != nil {
		t.Fatal(err)
	}
	out := channel.Outbound{Channel: channel.SMS, From: ourNumber, To: customer, Text: "hello"}

	out.OptOut = channel.OptOutYes
	if _, err := h.ch.Send(t.Context(), out); !errors.Is(err, channel.ErrOptedOut) {
		if code, _ := permanentCode(err); code != "21610" {
			t.Fatalf("send to a customer the outbox found opted out: %v", err)
		}
	}
	out.OptOut = channel.OptOutUnread
	if _, err := h.ch.Send(t.Context(), out); err == nil {
		t.Fatal("unread: sent to a customer the store has opted out")
	}
	if n := h.optOuts.readCount(); n != 1 {
		t.Fatalf("store read %d times, want once (only for the unread send)", n)
	}
	if n := len(h.fake.Requests()); n != 0 {
		t.Fatalf("called Twilio for an opted-out customer: %d", n)
	}
	// The outbox's read stands for the store's: it was made with the claim.
	out.OptOut = channel.OptOutNo
	if _, err := h.ch.Send(t.Context(), out); err != nil {
		t.Fatalf("send the outbox cleared: %v", err)
	}
	if n := h.optOuts.readCount(); n != 1 {
		t.Fatalf("store read again for a send the outbox cleared: %d reads", n)
	}
}

func TestSendLearnsOptOutFromTwilio(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.fake.FailNext(twiliotest.Failure{HTTPStatus: 400, Code: 21610, Message: "Attempt to send to unsubscribed recipient"})
	_, err := h.ch.Send(t.Context(), channel.Outbound{From: ourNumber, To: customer, Text: "hi"})
	if code, _ := permanentCode(err); code != "21610" {
		t.Fatalf("err %v", err)
	}
	if out, _ := h.optOuts.IsOptedOut(t.Context(), channel.SMS, customer); !out {
		t.Fatal("Twilio's opt-out not recorded")
	}
	if _, err := h.ch.Send(t.Context(), channel.Outbound{From: ourNumber, To: customer, Text: "hi"}); err == nil {
		t.Fatal("second send went out")
	}
	if n := len(h.fake.Requests()); n != 1 {
		t.Fatalf("Twilio called %d times", n)
	}
}

func TestSendWithoutAnswerIsTemporaryAndSecretFree(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	_ = l.Close()
	h := newHarness(t, func(c *Config, _ *Deps, _ *fakeCore) { c.APIBaseURL = dead })
	_, err = h.ch.Send(t.Context(), channel.Outbound{From: ourNumber, To: customer, Text: "hi"})
	if !errors.Is(err, channel.ErrTemporary) {
		t.Fatalf("err %v", err)
	}
	assertNoSecrets(t, h.creds, err.Error())
}

func TestStatusCallbackUpdatesDelivery(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	res, err := h.ch.Send(t.Context(), channel.Outbound{From: ourNumber, To: customer, Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct{ status, code string }{{"sent", ""}, {"delivered", ""}, {"undelivered", "30007"}} {
		cbURL, form, sig, err := h.fake.StatusCallback(res.ProviderID, step.status, step.code)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(cbURL)
		w := h.postSigned(u.Path, form.Encode(), "", "", nil)
		if w.Code != http.StatusForbidden {
			t.Fatalf("unsigned status callback answered %d", w.Code)
		}
		r := h.postRaw(u.Path, form.Encode(), sig)
		if r.Code != http.StatusNoContent {
			t.Fatalf("status callback answered %d: %s", r.Code, r.Body.String())
		}
	}
	got := h.status.Got()
	if len(got) != 3 {
		t.Fatalf("updates %+v", got)
	}
	if got[1].Status != "delivered" || got[1].ProviderID != res.ProviderID || got[1].Channel != channel.SMS || got[1].At.IsZero() {
		t.Fatalf("delivered update %+v", got[1])
	}
	if got[2].Status != "undelivered" || got[2].ErrorCode != "30007" || !strings.Contains(got[2].ErrorText, "spam") {
		t.Fatalf("undelivered update %+v", got[2])
	}
}

func TestStatusCallbackRefusals(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	sid := "SM" + strings.Repeat("ab", 16)
	base := func() url.Values {
		return url.Values{"MessageSid": {sid}, "MessageStatus": {"delivered"}, "AccountSid": {h.creds.AccountSID}}
	}
	for _, tc := range []struct {
		desc string
		edit func(url.Values)
		want int
	}{
		{"future status word accepted", func(f url.Values) { f.Set("MessageStatus", "partially_delivered") }, 204},
		{"unknown extra parameters ignored", func(f url.Values) { f.Set("RawDlrDoneDate", "2511221905") }, 204},
		{"no sid", func(f url.Values) { f.Del("MessageSid") }, 400},
		{"no status", func(f url.Values) { f.Del("MessageStatus") }, 400},
		{"odd status", func(f url.Values) { f.Set("MessageStatus", "DELIVERED<script>") }, 400},
		{"odd error code", func(f url.Values) { f.Set("ErrorCode", "30x") }, 400},
		{"another account", func(f url.Values) { f.Set("AccountSid", "AC"+strings.Repeat("1", 32)) }, 403},
	} {
		f := base()
		tc.edit(f)
		if w := h.post(StatusPath, f); w.Code != tc.want {
			t.Errorf("%s: %d, want %d", tc.desc, w.Code, tc.want)
		}
	}
	if n := len(h.status.Got()); n != 2 {
		t.Fatalf("%d updates passed on, want 2", n)
	}
}

// Issue 11 item 8: a signed status callback for a message the core does
// not know is acknowledged (Twilio must not retry it) and logged below
// ERROR; a store failure still asks Twilio to retry.
func TestStatusCallbackForUnknownMessage(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	sid := "SM" + strings.Repeat("cd", 16)
	h.status.err = fmt.Errorf("conversation: delivery sms %s: %w", sid, conversation.ErrUnknownMessage)
	f := url.Values{"MessageSid": {sid}, "MessageStatus": {"delivered"}, "AccountSid": {h.creds.AccountSID}}
	if w := h.post(StatusPath, f); w.Code != http.StatusNoContent {
		t.Fatalf("unknown MessageSid answered %d, want 204", w.Code)
	}
	if logs := h.logs.String(); strings.Contains(logs, `"level":"ERROR"`) || strings.Contains(logs, `"level":"WARN"`) {
		t.Fatalf("unknown MessageSid logged as a problem:\n%s", logs)
	}
	h.status.err = errors.New("redis: connection refused")
	if w := h.post(StatusPath, f); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("store failure answered %d, want 503", w.Code)
	}
}

func TestStatusCallbackWithOptOutCodeRecordsOptOut(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	res, err := h.ch.Send(t.Context(), channel.Outbound{From: ourNumber, To: customer, Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	cbURL, form, sig, err := h.fake.StatusCallback(res.ProviderID, "failed", "21610")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(cbURL)
	if w := h.postRaw(u.Path, form.Encode(), sig); w.Code != http.StatusNoContent {
		t.Fatalf("answered %d", w.Code)
	}
	if out, _ := h.optOuts.IsOptedOut(t.Context(), channel.SMS, customer); !out {
		t.Fatal("opt-out reported by Twilio not recorded")
	}
	if got := h.status.Got(); len(got) != 1 || got[0].Status != "failed" || got[0].ErrorCode != "21610" {
		t.Fatalf("updates %+v", got)
	}
}
