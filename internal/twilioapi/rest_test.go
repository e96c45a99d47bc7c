package twilioapi_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/switchboard/switchboard/internal/twilioapi"
	"github.com/switchboard/switchboard/internal/twilioapi/twiliotest"
)

func params(from, to, body string) *openapi.CreateMessageParams {
	p := &openapi.CreateMessageParams{}
	p.SetFrom(from)
	p.SetTo(to)
	p.SetBody(body)
	return p
}

func TestRestClientAgainstFake(t *testing.T) {
	t.Parallel()
	creds := twiliotest.Credentials()
	fake := twiliotest.New(t, creds)
	rc := fake.Client(t)
	body := "Ünïcödé ✓ 👍🏽 مرحبا こんにちは"
	m, err := rc.Api.CreateMessage(params("+14155550199", "+14155550100", body))
	if err != nil {
		t.Fatal(err)
	}
	if m.Sid == nil || !strings.HasPrefix(*m.Sid, "SM") || *m.Status != "queued" {
		t.Fatalf("answer %+v", m)
	}
	got := fake.Messages()
	if len(got) != 1 || got[0].Body != body || got[0].From != "+14155550199" || got[0].To != "+14155550100" {
		t.Fatalf("fake recorded %+v", got)
	}
	if reqs := fake.Requests(); !reqs[0].Authorized {
		t.Fatal("basic auth did not reach the fake")
	}
}

func TestExplain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc          string
		fail          twiliotest.Failure
		wantStatus    int
		wantCode      int
		wantTemporary bool
		wantBusy      bool // 429: turned away before acting
	}{
		{desc: "rate limited", fail: twiliotest.Failure{HTTPStatus: 429, Code: 20429, Message: "Too Many Requests"},
			wantStatus: 429, wantCode: 20429, wantTemporary: true, wantBusy: true},
		{desc: "server error", fail: twiliotest.Failure{HTTPStatus: 503, Code: 20503, Message: "Service Unavailable"},
			wantStatus: 503, wantCode: 20503, wantTemporary: true},
		{desc: "proxy page without JSON", fail: twiliotest.Failure{HTTPStatus: 502, RawBody: "<html>Bad Gateway</html>"},
			wantStatus: 502, wantTemporary: true},
		{desc: "invalid To", fail: twiliotest.Failure{HTTPStatus: 400, Code: 21211, Message: "Invalid 'To' Phone Number"},
			wantStatus: 400, wantCode: 21211},
		{desc: "unsubscribed recipient", fail: twiliotest.Failure{HTTPStatus: 400, Code: 21610, Message: "Attempt to send to unsubscribed recipient"},
			wantStatus: 400, wantCode: 21610},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			creds := twiliotest.Credentials()
			fake := twiliotest.New(t, creds)
			fake.FailNext(tc.fail)
			rc := fake.Client(t)
			_, err := rc.Api.CreateMessage(params("+14155550199", "+14155550100", "hi"))
			if err == nil {
				t.Fatal("no error")
			}
			f := creds.Explain(err)
			if f.Status != tc.wantStatus || f.Code != tc.wantCode || f.Temporary != tc.wantTemporary || f.Busy != tc.wantBusy {
				t.Fatalf("Explain = %+v", f)
			}
			assertNoSecrets(t, creds, f.Error())
		})
	}
}

// TestExplainRetryAfter: a 429's Retry-After, in either form RFC 9110
// allows, reaches Explain through the rewritten error body; nonsense,
// and the header on anything but a 429, is ignored.
func TestExplainRetryAfter(t *testing.T) {
	t.Parallel()
	// inTwoMinutes stands for a date two minutes ahead, made when its
	// subtest starts (parallel subtests may start seconds after the
	// table): the fake's Date header and the date are both whole seconds,
	// read a moment apart, so about 120 s.
	const inTwoMinutes = "in two minutes"
	tests := []struct {
		desc      string
		status    int
		header    string
		low, high time.Duration
	}{
		{desc: "seconds", status: 429, header: "30", low: 30 * time.Second, high: 30 * time.Second},
		{desc: "HTTP date", status: 429, header: inTwoMinutes, low: 118 * time.Second, high: 121 * time.Second},
		{desc: "past date", status: 429, header: "Sun, 06 Nov 1994 08:49:37 GMT"},
		{desc: "words", status: 429, header: "soon"},
		{desc: "negative", status: 429, header: "-30"},
		{desc: "fraction", status: 429, header: "1.5"},
		{desc: "absurdly large: a day at most", status: 429, header: "99999999999999999999999999", low: 24 * time.Hour, high: 24 * time.Hour},
		{desc: "none", status: 429},
		{desc: "not a 429", status: 503, header: "30"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			creds := twiliotest.Credentials()
			fake := twiliotest.New(t, creds)
			header := tc.header
			if header == inTwoMinutes {
				header = time.Now().Add(2 * time.Minute).UTC().Format(http.TimeFormat)
			}
			fake.FailNext(twiliotest.Failure{HTTPStatus: tc.status, Code: 20000 + tc.status, Message: "Busy for " + creds.AccountSID, RetryAfter: header})
			_, err := fake.Client(t).Api.CreateMessage(params("+14155550199", "+14155550100", "hi"))
			f := creds.Explain(err)
			if f.Status != tc.status || f.Busy != (tc.status == 429) {
				t.Fatalf("Explain = %+v", f)
			}
			if f.RetryAfter < tc.low || f.RetryAfter > tc.high {
				t.Fatalf("RetryAfter = %s for Retry-After %q, want %s to %s", f.RetryAfter, header, tc.low, tc.high)
			}
			if said := strings.Contains(f.Error(), "retry after"); said != (f.RetryAfter > 0) {
				t.Fatalf("error text %q", f.Error())
			}
			assertNoSecrets(t, creds, f.Error())
		})
	}
}

// TestRetryAfterDateCountsFromTwiliosClock: a date is taken relative to
// the answer's Date, so a gateway whose clock is decades off still waits
// what Twilio meant; without a Date, relative to ours. The body's own
// details never pass for a Retry-After.
func TestRetryAfterDateCountsFromTwiliosClock(t *testing.T) {
	t.Parallel()
	creds := twiliotest.Credentials()
	for _, tc := range []struct {
		date, retryAfter string
		low, high        time.Duration
	}{
		{"Sun, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:51:07 GMT", 90 * time.Second, 90 * time.Second},
		{"", time.Now().Add(time.Minute).UTC().Format(http.TimeFormat), 55 * time.Second, time.Minute},
		{"not a date", time.Now().Add(time.Minute).UTC().Format(http.TimeFormat), 55 * time.Second, time.Minute},
		{"Sun, 06 Nov 1994 08:49:37 GMT", "", 0, 0},
	} {
		hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			h := http.Header{"Content-Type": {"application/json"}, "Retry-After": {tc.retryAfter}}
			if tc.date != "" {
				h.Set("Date", tc.date)
			}
			body := `{"code":20429,"message":"Too Many Requests","status":429,"details":{"retry_after_ms":5}}`
			return &http.Response{StatusCode: 429, Status: "429 Too Many Requests", Header: h,
				Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
		})}
		rc, err := twilioapi.NewRestClient(twilioapi.ClientOptions{Credentials: creds, HTTPClient: hc})
		if err != nil {
			t.Fatal(err)
		}
		_, err = rc.Api.CreateMessage(params("+14155550199", "+14155550100", "hi"))
		if f := creds.Explain(err); f.RetryAfter < tc.low || f.RetryAfter > tc.high {
			t.Errorf("Date %q, Retry-After %q: RetryAfter = %s, want %s to %s", tc.date, tc.retryAfter, f.RetryAfter, tc.low, tc.high)
		}
	}
}

func TestNoAnswerIsTemporaryAndSecretFree(t *testing.T) {
	t.Parallel()
	creds := twiliotest.Credentials()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // nobody listens there now: connection refused
	rc, err := twilioapi.NewRestClient(twilioapi.ClientOptions{Credentials: creds, BaseURL: "http://" + addr})
	if err != nil {
		t.Fatal(err)
	}
	_, err = rc.Api.CreateMessage(params("+14155550199", "+14155550100", "hi"))
	f := creds.Explain(err)
	if !f.Temporary || f.Status != 0 {
		t.Fatalf("Explain = %+v", f)
	}
	assertNoSecrets(t, creds, f.Error())
}

func TestWrongCredentialsArePermanent(t *testing.T) {
	t.Parallel()
	creds := twiliotest.Credentials()
	fake := twiliotest.New(t, creds)
	other := twiliotest.Credentials()
	other.AccountSID = creds.AccountSID
	rc, err := twilioapi.NewRestClient(twilioapi.ClientOptions{Credentials: other, BaseURL: fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = rc.Api.CreateMessage(params("+14155550199", "+14155550100", "hi"))
	f := other.Explain(err)
	if f.Temporary || f.Code != 20003 {
		t.Fatalf("Explain = %+v", f)
	}
	assertNoSecrets(t, other, f.Error())
}

func TestCredentialsNeverPrinted(t *testing.T) {
	t.Parallel()
	creds := twiliotest.Credentials()
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	log.Info("starting", "twilio", creds)
	out := fmt.Sprintf("%v %+v %#v %s", creds, creds, creds, creds) + logs.String()
	if strings.Contains(out, creds.AuthToken) || strings.Contains(out, creds.AccountSID) {
		t.Fatalf("credentials printed: %s", out)
	}
	if !strings.Contains(out, creds.AccountSID[len(creds.AccountSID)-4:]) {
		t.Fatalf("the SID's last four should remain for telling accounts apart: %s", out)
	}
}

func TestCredentialsValidate(t *testing.T) {
	t.Parallel()
	good := twiliotest.Credentials()
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (twilioapi.Credentials{}).Validate(); !errors.Is(err, twilioapi.ErrNoCredentials) {
		t.Fatalf("empty credentials: %v", err)
	}
	for _, c := range []twilioapi.Credentials{
		{AccountSID: good.AccountSID},
		{AccountSID: "XX" + good.AccountSID[2:], AuthToken: good.AuthToken},
		{AccountSID: good.AccountSID, AuthToken: "has-dash"},
	} {
		err := c.Validate()
		if err == nil || errors.Is(err, twilioapi.ErrNoCredentials) {
			t.Errorf("Validate(%v) = %v", c, err)
			continue
		}
		assertNoSecrets(t, c, err.Error())
	}
}

func TestRestClientRejectsBadBaseURL(t *testing.T) {
	t.Parallel()
	if _, err := twilioapi.NewRestClient(twilioapi.ClientOptions{Credentials: twiliotest.Credentials(), BaseURL: "localhost:4010"}); err == nil {
		t.Fatal("accepted a base URL without scheme")
	}
}

func TestRestClientUsesInjectedTransport(t *testing.T) {
	t.Parallel()
	creds := twiliotest.Credentials()
	fake := twiliotest.New(t, creds)
	var seen []string
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		seen = append(seen, r.URL.Host)
		return http.DefaultTransport.RoundTrip(r)
	})}
	rc, err := twilioapi.NewRestClient(twilioapi.ClientOptions{Credentials: creds, BaseURL: fake.URL, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Api.CreateMessage(params("+14155550199", "+14155550100", "hi")); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || "http://"+seen[0] != fake.URL {
		t.Fatalf("transport saw %v", seen)
	}
	if hc.CheckRedirect != nil {
		t.Fatal("the caller's client was changed")
	}
}

// TestRestClientKeepsConnections: a burst of concurrent sends, then
// another, reuses the connections of the first instead of dialing anew
// (net/http keeps only 2 per host by default).
func TestRestClientKeepsConnections(t *testing.T) {
	t.Parallel()
	creds := twiliotest.Credentials()
	fake := twiliotest.New(t, creds)
	rc := fake.Client(t)
	const burst = 16
	for range 3 {
		var wg sync.WaitGroup
		errs := make(chan error, burst)
		for range burst {
			wg.Go(func() {
				_, err := rc.Api.CreateMessage(params("+14155550199", "+14155550100", "hi"))
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := fake.Connections(); n > burst {
		t.Fatalf("%d connections for 3 bursts of %d sends: connections are not kept", n, burst)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func assertNoSecrets(t *testing.T, c twilioapi.Credentials, s string) {
	t.Helper()
	if (c.AuthToken != "" && strings.Contains(s, c.AuthToken)) || (c.AccountSID != "" && strings.Contains(s, c.AccountSID)) {
		t.Fatalf("credentials leaked: %s", s)
	}
}
