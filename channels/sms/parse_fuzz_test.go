package sms

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/channel"
)

const fuzzAccount = "AC0123456789abcdef0123456789abcdef"

// FuzzParseInbound feeds arbitrary webhook bodies to the parser: it must
// never panic, and whatever it accepts must satisfy what the conversation
// service relies on. The kept corpus is in testdata/fuzz/FuzzParseInbound.
func FuzzParseInbound(f *testing.F) {
	f.Add("MessageSid=SM0123456789abcdef0123456789abcdef&AccountSid=" + fuzzAccount + "&From=%2B14155550100&To=%2B14155550199&Body=hi&NumMedia=0")
	f.Add("MessageSid=MM0123456789abcdef0123456789abcdef&AccountSid=" + fuzzAccount +
		"&From=%2B14155550100&To=12345&Body=&NumMedia=1&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2FME1&MediaContentType0=image%2Fpng")
	f.Add("MessageSid=SM0123456789abcdef0123456789abcdef&AccountSid=" + fuzzAccount + "&From=%2B14155550100&To=%2B14155550199&Body=%F0%9F%91%8B%E4%BD%A0")
	f.Add("From=+1&To=&NumMedia=99999999999999999999")
	f.Add("%zz")
	at := time.Date(2026, 11, 22, 19, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return // the signature check refuses what does not parse
		}
		in, err := parseInbound(form, fuzzAccount, at)
		if err != nil {
			var pe *parseError
			if !errors.As(err, &pe) && !errors.Is(err, errOtherAccount) {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			return
		}
		if !messageSidPattern.MatchString(in.ProviderID) {
			t.Fatalf("accepted provider id %q", in.ProviderID)
		}
		if n, err := channel.NormalizeNumber(in.From, false); err != nil || n != in.From || !strings.HasPrefix(in.From, "+") {
			t.Fatalf("accepted From %q", in.From)
		}
		if n, err := channel.NormalizeNumber(in.To, true); err != nil || n != in.To {
			t.Fatalf("accepted To %q", in.To)
		}
		if !utf8.ValidString(in.Text) || in.Text != form.Get("Body") {
			t.Fatalf("text changed or invalid: %q", in.Text)
		}
		if len(in.Attachments) > maxMedia {
			t.Fatalf("%d attachments", len(in.Attachments))
		}
		for _, a := range in.Attachments {
			u, err := url.Parse(a.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || a.ContentType == "" {
				t.Fatalf("accepted attachment %+v", a)
			}
		}
		if _, err := parseStatus(form, fuzzAccount, at); err != nil {
			var pe *parseError
			if !errors.As(err, &pe) && !errors.Is(err, errOtherAccount) {
				t.Fatalf("status parse: unexpected error %T", err)
			}
		}
	})
}
