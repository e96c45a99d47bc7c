package voice

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

const fuzzAccount = "AC0123456789abcdef0123456789abcdef"

// FuzzParseHook feeds arbitrary webhook bodies to the parser: it must
// never panic, must refuse with a parseError or errOtherAccount only, and
// whatever it accepts must be what the handlers rely on. The kept corpus
// is in testdata/fuzz/FuzzParseHook.
func FuzzParseHook(f *testing.F) {
	call := "CallSid=CA0123456789abcdef0123456789abcdef&AccountSid=" + fuzzAccount
	f.Add(call + "&From=%2B14155550100&To=%2B14155550199&CallStatus=ringing&Direction=inbound")
	f.Add(call + "&QueueSid=QU0123456789abcdef0123456789abcdef&QueuePosition=3&QueueTime=42&AvgQueueTime=30&CurrentQueueSize=4")
	f.Add(call + "&QueueResult=redirected-from-bridged&QueueTime=99999999")
	f.Add(call + "&DialCallStatus=no-answer&DialCallDuration=0&Digits=1%23")
	f.Add(call + "&RecordingSid=RE0123456789abcdef0123456789abcdef&RecordingUrl=https%3A%2F%2Fapi.twilio.com%2FRE1&RecordingStatus=completed&RecordingDuration=17")
	f.Add(call + "&TranscriptionText=%F0%9F%91%8B%E4%BD%A0&TranscriptionStatus=completed")
	f.Add("CallSid=CA0&From=+1&QueueTime=-1")
	f.Add("%zz")
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return // the signature check refuses what does not parse
		}
		h, err := parseHook(form, fuzzAccount)
		if err != nil {
			var pe *parseError
			if !errors.As(err, &pe) && !errors.Is(err, errOtherAccount) {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			return
		}
		if !callSidPattern.MatchString(h.CallSid) {
			t.Fatalf("accepted CallSid %q", h.CallSid)
		}
		for _, s := range []string{h.From, h.To} {
			if !utf8.ValidString(s) || strings.ContainsAny(s, "\r\n\x00") || len(s) > 128 {
				t.Fatalf("accepted address %q", s)
			}
		}
		for _, w := range []string{h.CallStatus, h.QueueResult, h.DialCallStatus, h.RecordingStatus} {
			if w != "" && !wordPattern.MatchString(w) {
				t.Fatalf("accepted status %q", w)
			}
		}
		for _, n := range []int{h.QueueTime, h.DialCallDuration, h.RecordingDuration} {
			if n < 0 || n > 86400 {
				t.Fatalf("accepted seconds %d", n)
			}
		}
		if h.QueueSid != "" && !queueSidPattern.MatchString(h.QueueSid) {
			t.Fatalf("accepted QueueSid %q", h.QueueSid)
		}
		if h.RecordingURL != "" {
			if u, err := url.Parse(h.RecordingURL); err != nil || u.Host == "" {
				t.Fatalf("accepted RecordingUrl %q", h.RecordingURL)
			}
		}
		if !utf8.ValidString(h.TranscriptionText) || len(h.TranscriptionText) > maxText {
			t.Fatal("accepted transcription")
		}
		if n, ok := callerNumber(h.From); ok && !strings.HasPrefix(n, "+") {
			t.Fatalf("callable %q", h.From)
		}
	})
}
