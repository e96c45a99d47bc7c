package sms

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf16"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/switchboard/switchboard/internal/channel"
)

// MaxBodyChars is the longest body Twilio takes, counted in UTF-16 code
// units to be safe (an emoji counts twice). Twilio sends up to that as one
// concatenated message, split into segments the phone reassembles; we do
// not split further ourselves, because separate messages can arrive out of
// order and a retry after a partial send would repeat parts.
const MaxBodyChars = 1600

// Twilio's error codes for the conditions the Sender refuses before
// calling Twilio, so the console shows one code per cause whoever noticed.
const (
	codeOptedOut    = "21610" // attempt to send to unsubscribed recipient
	codeInvalidTo   = "21211" // invalid 'To' phone number
	codeNoFrom      = "21603" // 'From' phone number is required
	codeNoBody      = "21602" // message body is required
	codeTooLong     = "21617" // concatenated body exceeds 1600 characters
	codeBadMediaURL = "21620" // invalid media URL
)

// Send texts out.Text (and media by URL) from our number out.From to the
// customer out.To, with a status callback to StatusPath. It refuses
// customers who opted out: as the outbox read it with its claim
// (out.OptOut), or from OptOuts when it did not. Failures worth retrying
// (5xx, no answer, opt-out store unreachable) wrap channel.ErrTemporary;
// a 429 is a *channel.BusyError (also temporary), tried later without
// using an attempt, no sooner than its Retry-After asked up to
// maxRetryAfter; Twilio's refusals are *channel.PermanentError with Twilio's code.
//
// Twilio's Messages API takes no idempotency key, so a send whose answer
// was lost (timeout) and is retried may reach the customer twice; that is
// preferred to losing a reply.
func (c *Channel) Send(ctx context.Context, out channel.Outbound) (channel.SendResult, error) {
	var media []string
	for _, a := range out.Attachments {
		if a.URL == "" {
			return channel.SendResult{}, &channel.PermanentError{Code: codeBadMediaURL,
				Message: "attachment " + a.Name + " has no public URL Twilio could fetch; SMS can only carry media by URL"}
		}
		media = append(media, a.URL)
	}
	return c.send(ctx, out.From, out.To, out.Text, media, "", out.OptOut)
}

// maxRetryAfter bounds how long one 429 puts a message off on Twilio's
// word (its Retry-After). A 429 is the account's rate or concurrency
// limit, which lifts as the account's other calls finish. While a reply
// is put off the transcript shows it only as pending and the customer
// sees nothing, so it is asked again after a minute (plus the outbox's
// jitter of up to 20%) at the latest, whatever was asked: one more call,
// which uses no attempt if it is turned away too. The outbox's
// MaxBusyWait (10 minutes) still turns a limit that does not lift into
// counted attempts the transcript shows, rather than an hour of silence.
const maxRetryAfter = time.Minute

// roomWait is how long a reply waits for room among the messages being
// sent (Config.MaxSending) before it is answered busy, so that the outbox
// puts it off and its worker serves other replies meanwhile.
const roomWait = time.Second

// send is Send's work, shared with the acknowledgement of conversation
// ackFor ("" for a reply). optOut is the customer's opt-out as the core
// read it along its own work; OptOutUnread has send read it. A reply
// waits roomWait for room to send. An acknowledgement waits as long as
// ctx allows, behind replies, and is not sent (channel.ErrAnswered) when
// an agent answered while it waited; it asks for no status callback: it
// is not an outbox message, so there is no message its status could land
// on.
func (c *Channel) send(ctx context.Context, from, to, body string, media []string, ackFor string, optOut channel.OptOut) (channel.SendResult, error) {
	var res channel.SendResult
	given := to
	to, err := channel.NormalizeNumber(to, false)
	if to != given {
		// The core read the opt-out under the address as stored; one
		// stored in another form was not under the key STOP writes.
		optOut = channel.OptOutUnread
	}
	if err != nil {
		return res, &channel.PermanentError{Code: codeInvalidTo, Message: "the customer's address is not a phone number in E.164 form"}
	}
	if from == "" {
		return res, &channel.PermanentError{Code: codeNoFrom, Message: "the conversation has no Twilio number to send from"}
	}
	if body == "" && len(media) == 0 {
		return res, &channel.PermanentError{Code: codeNoBody, Message: "the message is empty"}
	}
	if n := len(utf16.Encode([]rune(body))); n > MaxBodyChars {
		return res, &channel.PermanentError{Code: codeTooLong,
			Message: fmt.Sprintf("the message is %d characters long; SMS takes at most %d, please shorten or split it", n, MaxBodyChars)}
	}
	if optOut == channel.OptOutUnread {
		optedOut, err := c.optOuts.IsOptedOut(ctx, channel.SMS, to)
		if err != nil {
			return res, fmt.Errorf("sms: send: %w: %w", channel.ErrTemporary, err)
		}
		if optedOut {
			optOut = channel.OptOutYes
		}
	}
	if optOut == channel.OptOutYes {
		return res, optedOutError()
	}
	// twilio-go's calls take no context; stop here at least when the
	// caller has given up before the call starts.
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("sms: send: %w: %w", channel.ErrTemporary, err)
	}
	p := &openapi.CreateMessageParams{}
	p.SetFrom(from)
	p.SetTo(to)
	if body != "" {
		p.SetBody(body)
	}
	if len(media) > 0 {
		p.SetMediaUrl(media)
	}
	take := func() error { return c.sending.TakeForAcknowledgement(ctx, c.core, ackFor) }
	if ackFor == "" {
		p.SetStatusCallback(c.statusCallback)
		take = func() error { return c.sending.Take(ctx, roomWait) }
	}
	if err := take(); err != nil {
		return res, fmt.Errorf("sms: send: %w", err)
	}
	m, err := c.createTaken(p)
	if err != nil {
		f := c.creds.Explain(err)
		if f.Busy { // a rate limit: the outbox puts the reply off, no attempt used
			return res, fmt.Errorf("sms: send: %w", &channel.BusyError{RetryAfter: min(f.RetryAfter, maxRetryAfter), Reason: f.Error()})
		}
		if f.Temporary {
			return res, fmt.Errorf("sms: send: %w: %w", channel.ErrTemporary, f)
		}
		code := ""
		if f.Code != 0 {
			code = strconv.Itoa(f.Code)
		}
		if code == codeOptedOut {
			// Twilio knew of a STOP we missed (sent before Switchboard ran);
			// remember it so the console says why next time without a call.
			if err := c.optOuts.SetOptOut(ctx, channel.SMS, to, true); err != nil {
				c.log.Warn("sms: Twilio reports an opt-out we could not record", "err", err)
			}
			return res, optedOutError()
		}
		return res, &channel.PermanentError{Code: code, Message: f.Message}
	}
	if m.Sid == nil {
		return res, errors.New("sms: send: Twilio answered without a message SID")
	}
	res.ProviderID = *m.Sid
	if m.Status != nil {
		res.Status = *m.Status
	}
	return res, nil
}

// createTaken asks Twilio to create the message, for a send slot taken
// from c.sending, which it gives back however the call ends.
func (c *Channel) createTaken(p *openapi.CreateMessageParams) (*openapi.ApiV2010Message, error) {
	defer c.sending.Put()
	return c.rest.Api.CreateMessage(p)
}

func optedOutError() *channel.PermanentError {
	return &channel.PermanentError{Code: codeOptedOut,
		Message: "the customer opted out of SMS by texting STOP (or a synonym); they must text START before we may text them again"}
}
