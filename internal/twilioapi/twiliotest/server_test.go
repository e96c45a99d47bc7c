package twiliotest_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twilio/twilio-go/client"

	"github.com/switchboard/switchboard/internal/twilioapi"
	"github.com/switchboard/switchboard/internal/twilioapi/twiliotest"
)

func TestSegments(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body string
		want int
	}{
		{"", 1}, {strings.Repeat("a", 160), 1}, {strings.Repeat("a", 161), 2}, {strings.Repeat("a", 306), 2},
		{strings.Repeat("ü", 70), 1}, {strings.Repeat("ü", 71), 2}, {strings.Repeat("🙂", 35), 1}, {strings.Repeat("🙂", 36), 2},
	} {
		if got := twiliotest.Segments(tc.body); got != tc.want {
			t.Errorf("Segments(%d chars) = %d, want %d", len([]rune(tc.body)), got, tc.want)
		}
	}
}

func TestInboundSMSIsSignable(t *testing.T) {
	t.Parallel()
	creds := twiliotest.Credentials()
	form := twiliotest.InboundSMS(creds.AccountSID, "+14155550100", "+14155550199", "hi", "https://api.twilio.com/ME1")
	if form.Get("NumMedia") != "1" || !strings.HasPrefix(form.Get("MessageSid"), "MM") || form.Get("MediaContentType0") == "" {
		t.Fatalf("form %v", form)
	}
	u := "https://sb.example.com/twilio/sms"
	rv := client.NewRequestValidator(creds.AuthToken)
	if !rv.ValidateBody(u, []byte(form.Encode()), twilioapi.Sign(creds.AuthToken, u, form)) {
		t.Fatal("InboundSMS form does not verify")
	}
}

func TestFakeRefusesWrongAuthAndUnknownPaths(t *testing.T) {
	t.Parallel()
	creds := twiliotest.Credentials()
	fake := twiliotest.New(t, creds)
	post := func(path, user, pass string) int {
		r, _ := http.NewRequest(http.MethodPost, fake.URL+path, strings.NewReader(url.Values{"To": {"+1415555"}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth(user, pass)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	msgs := "/2010-04-01/Accounts/" + creds.AccountSID + "/Messages.json"
	if c := post(msgs, creds.AccountSID, "wrong"); c != 401 {
		t.Fatalf("wrong token: %d", c)
	}
	if c := post("/2010-04-01/Accounts/"+creds.AccountSID+"/Conferences.json", creds.AccountSID, creds.AuthToken); c != 404 {
		t.Fatalf("unknown path: %d", c)
	}
	if c := post(msgs, creds.AccountSID, creds.AuthToken); c != 400 { // no From
		t.Fatalf("no From: %d", c)
	}
	if n := len(fake.Requests()); n != 3 || len(fake.Messages()) != 0 {
		t.Fatalf("recorded %d requests, %d messages", n, len(fake.Messages()))
	}
	if _, _, _, err := fake.StatusCallback("SMnope", "delivered", ""); err == nil {
		t.Fatal("status callback for an unknown message")
	}
}

func TestFakeSendsRetryAfterWhenAsked(t *testing.T) {
	t.Parallel()
	creds := twiliotest.Credentials()
	fake := twiliotest.New(t, creds)
	fake.FailNext(twiliotest.Failure{HTTPStatus: 429, Code: 20429, Message: "Too Many Requests", RetryAfter: "30"},
		twiliotest.Failure{HTTPStatus: 429, Code: 20429, Message: "Too Many Requests"})
	for _, want := range []string{"30", ""} {
		r, _ := http.NewRequest(http.MethodPost, fake.URL+"/2010-04-01/Accounts/"+creds.AccountSID+"/Messages.json", nil)
		r.SetBasicAuth(creds.AccountSID, creds.AuthToken)
		before := time.Now()
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if got := resp.Header.Get("Retry-After"); resp.StatusCode != 429 || got != want {
			t.Fatalf("answered %d with Retry-After %q, want 429 with %q", resp.StatusCode, got, want)
		}
		reqs := fake.Requests()
		if at := reqs[len(reqs)-1].At; at.Before(before) || at.After(time.Now()) {
			t.Fatalf("request recorded at %v, sent at %v", at, before)
		}
	}
}
