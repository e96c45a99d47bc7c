package voice

import (
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/twilioapi"
)

// Defaults for zero Config fields.
const (
	DefaultQueue            = "default"
	DefaultCompany          = "us"
	DefaultAnnounceEvery    = 60 * time.Second
	DefaultCallbackAfter    = 2 * time.Minute
	DefaultCallbackAttempts = 3
	DefaultCallbackSpacing  = 5 * time.Minute
	DefaultRingTimeout      = 20 * time.Second
	DefaultVoicemailLength  = 2 * time.Minute
	DefaultTokenTTL         = time.Hour
	DefaultBodyLimit        = 64 << 10
	DefaultReceiveTimeout   = 10 * time.Second
)

// Config is the voice channel's configuration. The fields tagged yaml come
// from the channels.voice section of the configuration file; the others
// come from flags and environment through the wiring.
type Config struct {
	// Credentials are TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN. Both empty
	// turns the channel off (New returns ErrDisabled).
	Credentials twilioapi.Credentials `yaml:"-"`
	// PublicURL is the base URL Twilio calls (--public-url); signatures are
	// checked against it and every URL in our TwiML points to it.
	PublicURL string `yaml:"-"`
	// TrustProxy makes signature checks believe X-Forwarded-Proto/Host.
	TrustProxy bool `yaml:"-"`
	// APIBaseURL (TWILIO_API_BASE_URL) points the REST client at a
	// Twilio-compatible mock. Empty means Twilio.
	APIBaseURL string `yaml:"-"`
	// APIKeySID and APIKeySecret (TWILIO_API_KEY_SID, TWILIO_API_KEY_SECRET)
	// sign the softphone's access tokens; Twilio accepts no token signed
	// with the auth token. Empty: the token endpoint answers 503 and agents
	// take calls on their phone numbers only.
	APIKeySID    string `yaml:"-"`
	APIKeySecret string `yaml:"-"`

	// Company is named in the greeting ("Thanks for calling Acme").
	// Zero: "us".
	Company string `yaml:"company"`
	// Numbers maps each of our Twilio numbers (E.164; spaces and dashes are
	// forgiven) to the queue its calls go to. Others go to DefaultQueue.
	Numbers map[string]string `yaml:"numbers"`
	// DefaultQueue takes calls to unlisted numbers. Zero: "default".
	DefaultQueue string `yaml:"default_queue"`
	// Language and SayVoice are the <Say> language ("en-US") and voice
	// ("Polly.Joanna"). Zero: Twilio's defaults.
	Language string `yaml:"language"`
	SayVoice string `yaml:"say_voice"`
	// HoldMusic is the URL of the music <Play>ed while waiting; keep it a
	// clip of about AnnounceEvery, since announcements come between plays.
	// Zero: silence (<Pause>) of AnnounceEvery.
	HoldMusic string `yaml:"hold_music"`
	// AnnounceEvery is how often a waiting caller hears their place and
	// estimate again. Zero: 60 s.
	AnnounceEvery time.Duration `yaml:"announce_every"`
	// Callback is the "press 1 to be called back" offer.
	Callback CallbackConfig `yaml:"callback"`
	// Voicemail configures the after-hours recording.
	Voicemail VoicemailConfig `yaml:"voicemail"`
	// RecordCalls records answered calls (both sides, from answer) and
	// links each recording in the transcript.
	RecordCalls bool `yaml:"record_calls"`
	// AgentNumbers maps agent ids to the phone numbers their calls ring;
	// agents not listed answer in the console's softphone. Deps.Phones
	// replaces it when set.
	AgentNumbers map[string]string `yaml:"agent_numbers"`
	// RingTimeout is how long an agent's softphone or phone rings before
	// the call counts as missed. Zero: 20 s.
	RingTimeout time.Duration `yaml:"ring_timeout"`
	// WrapUp is the voice queues' wrap-up time in routing, told to the
	// console for its countdown after a call. Zero: no countdown.
	WrapUp time.Duration `yaml:"-"`
	// TokenTTL is the life of a softphone access token; twilio-go makes it
	// at least an hour. Zero: 1 h.
	TokenTTL time.Duration `yaml:"-"`
	// BodyLimit caps webhook bodies in bytes (413 beyond). Zero: 64 KiB.
	BodyLimit int64 `yaml:"body_limit"`
	// ReceiveTimeout bounds the core calls of one webhook, well inside
	// Twilio's 15 s. Zero: 10 s.
	ReceiveTimeout time.Duration `yaml:"-"`
}

// CallbackConfig is the callback offer. Durations are Go durations ("2m").
type CallbackConfig struct {
	// Off never offers a callback.
	Off bool `yaml:"off"`
	// After is how long a caller waits before hearing the offer. Zero: 2 min.
	After time.Duration `yaml:"after"`
	// Attempts is how many times the customer is called before the
	// callback counts as missed. Zero: 3.
	Attempts int `yaml:"attempts"`
	// Spacing is the pause between attempts. Zero: 5 min.
	Spacing time.Duration `yaml:"spacing"`
}

// VoicemailConfig is the after-hours voicemail.
type VoicemailConfig struct {
	// MaxLength caps one message. Zero: 2 min.
	MaxLength time.Duration `yaml:"max_length"`
	// Transcribe asks Twilio for a transcription (English, up to 2 min),
	// which is added to the transcript when it arrives.
	Transcribe bool `yaml:"transcribe"`
}

func (c *Config) applyDefaults() {
	if c.DefaultQueue == "" {
		c.DefaultQueue = DefaultQueue
	}
	if strings.TrimSpace(c.Company) == "" {
		c.Company = DefaultCompany
	}
	if c.AnnounceEvery <= 0 {
		c.AnnounceEvery = DefaultAnnounceEvery
	}
	if c.Callback.After <= 0 {
		c.Callback.After = DefaultCallbackAfter
	}
	if c.Callback.Attempts <= 0 {
		c.Callback.Attempts = DefaultCallbackAttempts
	}
	if c.Callback.Spacing <= 0 {
		c.Callback.Spacing = DefaultCallbackSpacing
	}
	if c.RingTimeout <= 0 {
		c.RingTimeout = DefaultRingTimeout
	}
	if c.Voicemail.MaxLength <= 0 {
		c.Voicemail.MaxLength = DefaultVoicemailLength
	}
	if c.TokenTTL <= 0 {
		c.TokenTTL = DefaultTokenTTL
	}
	if c.BodyLimit <= 0 {
		c.BodyLimit = DefaultBodyLimit
	}
	if c.ReceiveTimeout <= 0 {
		c.ReceiveTimeout = DefaultReceiveTimeout
	}
}
