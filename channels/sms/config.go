package sms

import (
	"fmt"
	"strings"
	"text/template"
	"time"

	"github.com/switchboard/switchboard/internal/twilioapi"
)

// Defaults for zero Config fields.
const (
	// DefaultMaxSending: one gateway routes up to about 250 SMS contacts a
	// second, each an acknowledgement and a reply: 500 messages a second,
	// which at Twilio's 150 ms or so keep about 75 under way. 32 capped a
	// gateway at SMS 150/s (docs/benchmarks.md); 128 leaves room.
	DefaultMaxSending     = 128
	DefaultQueue          = "default"
	DefaultBodyLimit      = 64 << 10
	DefaultReceiveTimeout = 10 * time.Second
)

// Config is the SMS channel's configuration. The fields tagged yaml come
// from the channels.sms section of the configuration file; the others come
// from flags and environment through the wiring.
type Config struct {
	// Credentials are TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN. Both empty
	// turns the channel off (New returns ErrDisabled).
	Credentials twilioapi.Credentials `yaml:"-"`
	// PublicURL is the base URL Twilio calls (--public-url); webhook
	// signatures are checked against it and status callbacks point to it.
	PublicURL string `yaml:"-"`
	// TrustProxy makes signature checks believe X-Forwarded-Proto/Host.
	TrustProxy bool `yaml:"-"`
	// APIBaseURL (TWILIO_API_BASE_URL) points the REST client at a
	// Twilio-compatible mock. Empty means Twilio.
	APIBaseURL string `yaml:"-"`

	// Numbers maps each of our Twilio numbers (E.164; spaces and dashes are
	// forgiven) to the queue its texts go to. A number not listed goes to
	// DefaultQueue.
	Numbers map[string]string `yaml:"numbers"`
	// DefaultQueue takes texts to unlisted numbers. Zero means "default".
	DefaultQueue string `yaml:"default_queue"`
	// Replies configures the first acknowledgement per queue; the key "*"
	// applies to queues without their own entry. Zero means the built-in
	// texts for every queue.
	Replies map[string]Reply `yaml:"replies"`
	// BusinessHours, when set, makes the acknowledgement outside them say
	// when someone will answer instead of giving a wait estimate. Nil means
	// always open.
	BusinessHours *BusinessHours `yaml:"business_hours"`
	// BodyLimit caps webhook bodies in bytes (413 beyond). Zero means
	// 64 KiB, ample for 1,600 characters and ten media URLs.
	BodyLimit int64 `yaml:"body_limit"`
	// MaxSending is how many messages this gateway asks Twilio to create
	// at once, at most: set it to the account's concurrency limit shared
	// out among the gateways. A reply that waits a second for room is put
	// off by the outbox without using an attempt. Zero means
	// DefaultMaxSending; at most 1,024.
	MaxSending int `yaml:"max_sending"`
	// ReceiveTimeout bounds the Receiver call of one webhook, well inside
	// Twilio's 15 s. Zero means 10 s.
	ReceiveTimeout time.Duration `yaml:"-"`
}

// Reply is the first acknowledgement of one queue. Texts are Go templates
// (text/template); an empty text keeps the built-in one.
type Reply struct {
	// Off sends no acknowledgement for this queue.
	Off bool `yaml:"off"`
	// WithEstimate is used when the Estimator gives a range. {{.Wait}} is a
	// phrase such as "in about 3–5 minutes" or "in under a minute".
	WithEstimate string `yaml:"with_estimate"`
	// WithoutEstimate is used when there is no estimate; it must promise no
	// time.
	WithoutEstimate string `yaml:"without_estimate"`
	// Closed is used outside business hours. {{.Opens}} is a phrase such
	// as "tomorrow at 09:00 CET".
	Closed string `yaml:"closed"`
}

// The built-in acknowledgement texts.
const (
	DefaultWithEstimate    = "Thanks for your message. A person will reply {{.Wait}}."
	DefaultWithoutEstimate = "Thanks for your message. It is with our team and a person will reply here as soon as they can."
	DefaultClosed          = "Thanks for your message. We are closed right now; a person will reply after we open {{.Opens}}."
)

// ackData is what reply templates may use.
type ackData struct {
	Queue string
	Wait  string
	Opens string
}

type replyTemplates struct {
	off                                   bool
	withEstimate, withoutEstimate, closed *template.Template
}

func compileReply(queue string, r Reply) (replyTemplates, error) {
	pick := func(s, def string) string {
		if strings.TrimSpace(s) == "" {
			return def
		}
		return s
	}
	var out replyTemplates
	out.off = r.Off
	for _, t := range []struct {
		name, text string
		dst        **template.Template
	}{
		{"with_estimate", pick(r.WithEstimate, DefaultWithEstimate), &out.withEstimate},
		{"without_estimate", pick(r.WithoutEstimate, DefaultWithoutEstimate), &out.withoutEstimate},
		{"closed", pick(r.Closed, DefaultClosed), &out.closed},
	} {
		tpl, err := template.New(t.name).Option("missingkey=error").Parse(t.text)
		if err != nil {
			return out, fmt.Errorf("sms: replies.%s.%s: %w", queue, t.name, err)
		}
		// Execute once with sample data so a field name typo fails at
		// start, not at a customer's first text.
		if err := tpl.Execute(&strings.Builder{}, ackData{Queue: queue, Wait: "in about 3–5 minutes", Opens: "tomorrow at 09:00 UTC"}); err != nil {
			return out, fmt.Errorf("sms: replies.%s.%s: %w", queue, t.name, err)
		}
		*t.dst = tpl
	}
	return out, nil
}
