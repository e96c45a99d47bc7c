package sms

import (
	"errors"
	"fmt"
	"mime"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/channel"
)

// maxMedia is the most media an MMS carries on Twilio.
const maxMedia = 10

var messageSidPattern = regexp.MustCompile(`^(SM|MM)[0-9a-fA-F]{32}$`)

// errOtherAccount marks a webhook for another Twilio account: a signature
// check passed only if that account shares our token, so it is refused.
var errOtherAccount = errors.New("webhook names another Twilio account")

// parseError is a webhook whose fields make no sense; the handler answers
// 400 and passes nothing on.
type parseError struct {
	field  string
	reason string
}

func (e *parseError) Error() string { return "sms: webhook field " + e.field + ": " + e.reason }

func badField(field, reason string) error { return &parseError{field: field, reason: reason} }

// parseInbound turns the form of Twilio's inbound message webhook into an
// Inbound. Parameters we do not use (and those Twilio adds in future) are
// ignored; the ones we use must be well formed. accountSID is our account;
// at is the time the webhook arrived.
func parseInbound(form url.Values, accountSID string, at time.Time) (channel.Inbound, error) {
	var in channel.Inbound
	sid := form.Get("MessageSid")
	if !messageSidPattern.MatchString(sid) {
		return in, badField("MessageSid", "missing or not a message SID")
	}
	switch acct := form.Get("AccountSid"); {
	case acct == "":
		return in, badField("AccountSid", "missing")
	case acct != accountSID:
		return in, errOtherAccount
	}
	from, err := channel.NormalizeNumber(form.Get("From"), false)
	if err != nil {
		return in, badField("From", err.Error())
	}
	to, err := channel.NormalizeNumber(form.Get("To"), true)
	if err != nil {
		return in, badField("To", err.Error())
	}
	body := form.Get("Body")
	if !utf8.ValidString(body) {
		return in, badField("Body", "not UTF-8")
	}
	media, err := parseMedia(form)
	if err != nil {
		return in, err
	}
	return channel.Inbound{
		Channel:     channel.SMS,
		From:        from,
		To:          to,
		Text:        body,
		Attachments: media,
		ProviderID:  sid,
		ReceivedAt:  at,
	}, nil
}

// parseMedia keeps MMS media by reference: fetching a MediaUrl needs the
// account's credentials, and Twilio keeps the file until it is deleted.
func parseMedia(form url.Values) ([]channel.Attachment, error) {
	raw := form.Get("NumMedia")
	if raw == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 0 || n > maxMedia {
		return nil, badField("NumMedia", fmt.Sprintf("not a number from 0 to %d", maxMedia))
	}
	var out []channel.Attachment
	for i := range n {
		urlField, typeField := "MediaUrl"+strconv.Itoa(i), "MediaContentType"+strconv.Itoa(i)
		u, err := url.Parse(form.Get(urlField))
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, badField(urlField, "missing or not an absolute http(s) URL")
		}
		ct := form.Get(typeField)
		mediaType, _, err := mime.ParseMediaType(ct)
		if err != nil {
			return nil, badField(typeField, "missing or not a media type")
		}
		out = append(out, channel.Attachment{
			// Twilio's media URLs end in the media SID; it names the file
			// well enough until someone downloads it.
			Name:        path.Base(u.Path),
			ContentType: mediaType,
			URL:         u.String(),
		})
	}
	return out, nil
}

// deliveryStatusPattern admits Twilio's status words (queued, sent,
// delivered, undelivered, failed, read, partially_delivered…) and any
// future one of the same shape.
var deliveryStatusPattern = regexp.MustCompile(`^[a-z][a-z_]{1,31}$`)

var errorCodePattern = regexp.MustCompile(`^[0-9]{1,6}$`)

// parseStatus turns a status callback's form into a DeliveryStatus.
func parseStatus(form url.Values, accountSID string, at time.Time) (channel.DeliveryStatus, error) {
	var st channel.DeliveryStatus
	sid := form.Get("MessageSid")
	if !messageSidPattern.MatchString(sid) {
		return st, badField("MessageSid", "missing or not a message SID")
	}
	if acct := form.Get("AccountSid"); acct != "" && acct != accountSID {
		return st, errOtherAccount
	}
	status := form.Get("MessageStatus")
	if status == "" {
		status = form.Get("SmsStatus")
	}
	if !deliveryStatusPattern.MatchString(status) {
		return st, badField("MessageStatus", "missing or not a status word")
	}
	code := form.Get("ErrorCode")
	if code != "" && !errorCodePattern.MatchString(code) {
		return st, badField("ErrorCode", "not a number")
	}
	text := form.Get("ErrorMessage")
	if text == "" {
		text = errorTexts[code]
	}
	if !utf8.ValidString(text) {
		return st, badField("ErrorMessage", "not UTF-8")
	}
	return channel.DeliveryStatus{
		Channel:    channel.SMS,
		ProviderID: sid,
		Status:     status,
		ErrorCode:  code,
		ErrorText:  text,
		At:         at,
	}, nil
}

// errorTexts explains the delivery error codes an agent meets most, since
// status callbacks carry the code only.
var errorTexts = map[string]string{
	"21610": "the customer has opted out (texted STOP)",
	"30001": "Twilio's queue for this number overflowed",
	"30002": "the Twilio account is suspended",
	"30003": "the customer's phone is unreachable (off or out of coverage)",
	"30004": "the message was blocked (the customer blocked us or their carrier did)",
	"30005": "the number is unknown or no longer active",
	"30006": "the number is a landline or its carrier cannot take texts",
	"30007": "the carrier filtered the message as spam",
	"30008": "the carrier reported an unknown error",
	"30034": "our number is not registered for A2P 10DLC",
}
