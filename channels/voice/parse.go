package voice

import (
	"errors"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/channel"
)

var (
	callSidPattern      = regexp.MustCompile(`^CA[0-9a-fA-F]{32}$`)
	queueSidPattern     = regexp.MustCompile(`^QU[0-9a-fA-F]{32}$`)
	recordingSidPattern = regexp.MustCompile(`^RE[0-9a-fA-F]{32}$`)
	// wordPattern admits Twilio's status words (in-progress, no-answer,
	// redirected-from-bridged…) and any future one of the same shape.
	wordPattern    = regexp.MustCompile(`^[a-z][a-z_-]{1,39}$`)
	agentIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.@-]{1,64}$`)
)

// errOtherAccount marks a webhook for another Twilio account: a signature
// check passed only if that account shares our token, so it is refused.
var errOtherAccount = errors.New("webhook names another Twilio account")

// parseError is a webhook whose fields make no sense; the handler answers
// 400 and acts on nothing.
type parseError struct {
	field  string
	reason string
}

func (e *parseError) Error() string { return "voice: webhook field " + e.field + ": " + e.reason }

func badField(field, reason string) error { return &parseError{field: field, reason: reason} }

// hook is what every voice webhook carries, parsed and checked. Fields
// absent from a webhook stay zero; the handler that needs one checks it.
type hook struct {
	CallSid    string
	From, To   string
	CallStatus string
	// QueueSid, QueueTime (seconds) and QueueResult come from <Enqueue>'s
	// wait URL and action.
	QueueSid    string
	QueueTime   int
	QueueResult string
	// DialCallStatus and DialCallDuration (seconds) come from <Dial>'s action.
	DialCallStatus   string
	DialCallDuration int
	// Digits is what the caller pressed in a <Gather>.
	Digits string
	// Recording fields come from a recording status callback.
	RecordingSid      string
	RecordingURL      string
	RecordingStatus   string
	RecordingDuration int
	// TranscriptionText comes from a transcription callback.
	TranscriptionText   string
	TranscriptionStatus string
}

// maxText bounds free text taken from a webhook (a transcription).
const maxText = 16 << 10

// parseHook checks the parameters of any voice webhook. Parameters we do
// not use (and those Twilio adds in future) are ignored; the ones we use
// must be well formed. The CallSid is required everywhere.
func parseHook(form url.Values, accountSID string) (hook, error) {
	var h hook
	h.CallSid = form.Get("CallSid")
	if !callSidPattern.MatchString(h.CallSid) {
		return h, badField("CallSid", "missing or not a call SID")
	}
	switch acct := form.Get("AccountSid"); {
	case acct == "":
		return h, badField("AccountSid", "missing")
	case acct != accountSID:
		return h, errOtherAccount
	}
	h.From, h.To = form.Get("From"), form.Get("To")
	for _, f := range []struct{ name, v string }{{"From", h.From}, {"To", h.To}} {
		if len(f.v) > 128 || !utf8.ValidString(f.v) || strings.ContainsAny(f.v, "\x00\r\n") {
			return h, badField(f.name, "not an address")
		}
	}
	var err error
	for _, w := range []struct {
		name string
		dst  *string
	}{
		{"CallStatus", &h.CallStatus}, {"QueueResult", &h.QueueResult}, {"DialCallStatus", &h.DialCallStatus},
		{"RecordingStatus", &h.RecordingStatus}, {"TranscriptionStatus", &h.TranscriptionStatus},
	} {
		if *w.dst, err = word(form, w.name); err != nil {
			return h, err
		}
	}
	for _, n := range []struct {
		name string
		dst  *int
	}{
		{"QueueTime", &h.QueueTime}, {"DialCallDuration", &h.DialCallDuration}, {"RecordingDuration", &h.RecordingDuration},
	} {
		if *n.dst, err = seconds(form, n.name); err != nil {
			return h, err
		}
	}
	if h.QueueSid = form.Get("QueueSid"); h.QueueSid != "" && !queueSidPattern.MatchString(h.QueueSid) {
		return h, badField("QueueSid", "not a queue SID")
	}
	if h.Digits = form.Get("Digits"); len(h.Digits) > 32 || strings.Trim(h.Digits, "0123456789*#w") != "" {
		return h, badField("Digits", "not key presses")
	}
	if h.RecordingSid = form.Get("RecordingSid"); h.RecordingSid != "" && !recordingSidPattern.MatchString(h.RecordingSid) {
		return h, badField("RecordingSid", "not a recording SID")
	}
	if h.RecordingURL = form.Get("RecordingUrl"); h.RecordingURL != "" {
		u, err := url.Parse(h.RecordingURL)
		if err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
			return h, badField("RecordingUrl", "not an absolute http(s) URL")
		}
	}
	if h.TranscriptionText = form.Get("TranscriptionText"); len(h.TranscriptionText) > maxText || !utf8.ValidString(h.TranscriptionText) {
		return h, badField("TranscriptionText", "not UTF-8 text of at most 16 KiB")
	}
	return h, nil
}

func word(form url.Values, name string) (string, error) {
	v := form.Get(name)
	if v != "" && !wordPattern.MatchString(v) {
		return "", badField(name, "not a status word")
	}
	return v, nil
}

// seconds reads a non-negative count of seconds of at most a day.
func seconds(form url.Values, name string) (int, error) {
	v := form.Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 86400 {
		return 0, badField(name, "not a number of seconds")
	}
	return n, nil
}

// callerNumber is the caller's number when it can be called back: Twilio
// sends "+266696687", "anonymous" or "" for withheld numbers, and
// client:… for softphones.
func callerNumber(from string) (string, bool) {
	if n, err := channel.NormalizeNumber(from, false); err == nil && n == from && from != "+266696687" && from != "+7378742833" && from != "+2562533" && from != "+8656696" {
		return from, true
	}
	return "", false
}
