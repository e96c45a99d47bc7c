package twilioapi_test

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/twilio/twilio-go/client"

	"github.com/switchboard/switchboard/internal/twilioapi"
	"github.com/switchboard/switchboard/internal/twilioapi/twiliotest"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestSignMatchesTwilioGoValidator(t *testing.T) {
	t.Parallel()
	creds := twiliotest.Credentials()
	form := twiliotest.InboundSMS(creds.AccountSID, "+14155550100", "+14155550199", "Grüße 👋 — 你好")
	u := "https://support.example.com/twilio/sms?x=1"
	sig := twilioapi.Sign(creds.AuthToken, u, form)
	rv := client.NewRequestValidator(creds.AuthToken)
	if !rv.ValidateBody(u, []byte(form.Encode()), sig) {
		t.Fatal("twilio-go rejects a signature made by Sign")
	}
	if rv.ValidateBody(u+"&y=2", []byte(form.Encode()), sig) {
		t.Fatal("twilio-go accepts the signature for another URL")
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	creds := twiliotest.Credentials()
	form := url.Values{"MessageSid": {"SM0123"}, "Body": {"hi"}}
	body := []byte(form.Encode())
	tests := []struct {
		desc       string
		publicURL  string
		trustProxy bool
		target     string // request URI
		headers    map[string]string
		signedURL  string // "" means no signature header
		want       error
	}{
		{desc: "signed for the public URL", publicURL: "https://sb.example.com", target: "/twilio/sms",
			signedURL: "https://sb.example.com/twilio/sms"},
		{desc: "query is part of the URL", publicURL: "https://sb.example.com", target: "/twilio/sms?q=a%20b",
			signedURL: "https://sb.example.com/twilio/sms?q=a%20b"},
		{desc: "path prefix of the public URL", publicURL: "https://example.com/sb/", target: "/twilio/sms",
			signedURL: "https://example.com/sb/twilio/sms"},
		{desc: "path prefix kept by the proxy", publicURL: "https://example.com/sb", target: "/sb/twilio/sms",
			signedURL: "https://example.com/sb/twilio/sms"},
		{desc: "explicit default port", publicURL: "https://sb.example.com", target: "/twilio/sms",
			signedURL: "https://sb.example.com:443/twilio/sms"},
		{desc: "missing signature", publicURL: "https://sb.example.com", target: "/twilio/sms",
			want: twilioapi.ErrMissingSignature},
		{desc: "signed for another URL", publicURL: "https://sb.example.com", target: "/twilio/sms",
			signedURL: "https://evil.example.com/twilio/sms", want: twilioapi.ErrBadSignature},
		{desc: "signed for another path", publicURL: "https://sb.example.com", target: "/twilio/sms",
			signedURL: "https://sb.example.com/twilio/voice", want: twilioapi.ErrBadSignature},
		{desc: "forwarded headers ignored when the proxy is not trusted", publicURL: "https://sb.example.com",
			target: "/twilio/sms", headers: map[string]string{"X-Forwarded-Host": "other.example.com", "X-Forwarded-Proto": "http"},
			signedURL: "http://other.example.com/twilio/sms", want: twilioapi.ErrBadSignature},
		{desc: "forwarded headers honoured when the proxy is trusted", publicURL: "https://sb.example.com", trustProxy: true,
			target: "/twilio/sms", headers: map[string]string{"X-Forwarded-Host": "other.example.com, inner", "X-Forwarded-Proto": "http"},
			signedURL: "http://other.example.com/twilio/sms"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			v, err := twilioapi.NewValidator(twilioapi.ValidatorOptions{AuthToken: creds.AuthToken,
				PublicURL: tc.publicURL, TrustProxy: tc.trustProxy, Logger: quietLogger()})
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodPost, tc.target, nil)
			for k, val := range tc.headers {
				r.Header.Set(k, val)
			}
			if tc.signedURL != "" {
				r.Header.Set(twilioapi.SignatureHeader, twilioapi.Sign(creds.AuthToken, tc.signedURL, form))
			}
			if err := v.Verify(r, body); !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v (checked %s)", err, tc.want, v.URL(r))
			}
		})
	}
}

func TestNewValidatorRejectsBadOptions(t *testing.T) {
	t.Parallel()
	for _, o := range []twilioapi.ValidatorOptions{
		{AuthToken: "", PublicURL: "https://x.example"},
		{AuthToken: "abc", PublicURL: "x.example/path"},
		{AuthToken: "abc", PublicURL: "ftp://x.example"},
	} {
		if _, err := twilioapi.NewValidator(o); err == nil {
			t.Errorf("NewValidator(%q) accepted", o.PublicURL)
		}
	}
}

func TestMiddleware(t *testing.T) {
	t.Parallel()
	creds := twiliotest.Credentials()
	v, err := twilioapi.NewValidator(twilioapi.ValidatorOptions{AuthToken: creds.AuthToken,
		PublicURL: "https://sb.example.com", Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.POST("/hook", func(c echo.Context) error {
		return c.String(http.StatusOK, c.FormValue("Body"))
	}, v.Middleware(100))

	send := func(form url.Values, sig string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if sig != "" {
			r.Header.Set(twilioapi.SignatureHeader, sig)
		}
		w := httptest.NewRecorder()
		e.ServeHTTP(w, r)
		return w
	}
	ok := url.Values{"Body": {"héllo"}}
	if w := send(ok, twilioapi.Sign(creds.AuthToken, "https://sb.example.com/hook", ok)); w.Code != 200 || w.Body.String() != "héllo" {
		t.Fatalf("signed request: %d %q", w.Code, w.Body.String())
	}
	if w := send(ok, ""); w.Code != http.StatusForbidden {
		t.Fatalf("unsigned request: %d", w.Code)
	}
	if w := send(ok, twilioapi.Sign("0000", "https://sb.example.com/hook", ok)); w.Code != http.StatusForbidden {
		t.Fatalf("request signed with another token: %d", w.Code)
	}
	big := url.Values{"Body": {strings.Repeat("x", 200)}}
	if w := send(big, twilioapi.Sign(creds.AuthToken, "https://sb.example.com/hook", big)); w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("large request: %d", w.Code)
	}
}
