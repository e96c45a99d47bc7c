package routing

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/channel"
)

// The channels routing keeps capacity for, their default capacities and
// offer timeouts are the channel contract's one vocabulary
// (internal/channel); routing speaks the names as strings, in Redis and in
// the scripts, which get the list from scripts.go.
const (
	chVoice = string(channel.Voice)
	chChat  = string(channel.Chat)
	chSMS   = string(channel.SMS)
	chEmail = string(channel.Email)
)

// channels lists every channel in the order the scripts consider them.
var channels = func() []string {
	out := make([]string, len(channel.All))
	for i, n := range channel.All {
		out[i] = string(n)
	}
	return out
}()

// Defaults applied where a QueueConfig field is zero.
const (
	DefaultServiceLevel    = 20 * time.Second
	DefaultStickyWindow    = 24 * time.Hour
	DefaultOverflowAfter   = 60 * time.Second
	DefaultMaxMissedOffers = 3
)

// QueueConfig is one queue, as written in the configuration file's
// `queues:` section. Zero values mean the documented default.
type QueueConfig struct {
	// Name identifies the queue; required, no ':' or ',' in it.
	Name string `yaml:"name"`
	// Channels the queue takes conversations from; empty means all.
	Channels []string `yaml:"channels"`
	// Skills every agent taking this queue's conversations must have, on
	// top of those a conversation asks for; empty means none.
	Skills []string `yaml:"skills"`
	// Priority is added to each conversation's priority in this queue, so an
	// agent serving several queues takes the more urgent queue first; 0 adds
	// nothing. Effective priorities are clamped to 0..99.
	Priority int `yaml:"priority"`
	// ReturningBoost raises the priority of returning customers; 0 means no boost.
	ReturningBoost int `yaml:"returning_boost"`
	// VIPBoost raises the priority of customers tagged VIP; 0 means no boost.
	VIPBoost int `yaml:"vip_boost"`
	// RecoveryBoost raises the priority of customers in service recovery
	// (a bad rating, a broken promise); 0 means 3, negative means no boost.
	RecoveryBoost int `yaml:"recovery_boost"`
	// OfferTimeoutSeconds is how long an agent has to accept, per channel;
	// a missing or 0 entry means 20 s for voice and 30 s for other channels.
	OfferTimeoutSeconds map[string]int `yaml:"offer_timeout_seconds"`
	// AutoAccept lists channels whose offers are accepted on the agent's
	// behalf at once (e.g. email); empty means none.
	AutoAccept []string `yaml:"auto_accept"`
	// ServiceLevelSeconds is the answer-time threshold for the service level
	// (answered within T ÷ answered); 0 means 20.
	ServiceLevelSeconds int `yaml:"service_level_seconds"`
	// StickyWindowSeconds: a returning customer goes to the agent who served
	// them last if that agent is free and served them within this window;
	// 0 means one day, negative turns stickiness off.
	StickyWindowSeconds int `yaml:"sticky_window_seconds"`
	// OverflowQueue names a queue whose agents may also take this queue's
	// conversations once they waited OverflowAfterSeconds; empty means none.
	OverflowQueue string `yaml:"overflow_queue"`
	// OverflowAfterSeconds is the wait limit before overflow; 0 means 60.
	OverflowAfterSeconds int `yaml:"overflow_after_seconds"`
	// WrapUpSeconds is how long after closing a conversation the agent keeps
	// its slot and gets no call, to finish notes; 0 means no wrap-up.
	WrapUpSeconds int `yaml:"wrap_up_seconds"`
}

// DefaultQueues is the configuration used when none is given: one queue,
// support, serving every channel, so the product works out of the box.
func DefaultQueues() []QueueConfig {
	return []QueueConfig{{Name: "support", ReturningBoost: 1, VIPBoost: 5}}
}

// Validate reports the first invalid field, naming it.
func (q QueueConfig) Validate() error {
	if err := validName(q.Name); err != nil {
		return fmt.Errorf("queue name %q: %w", q.Name, err)
	}
	for _, ch := range q.Channels {
		if !slices.Contains(channels, ch) {
			return fmt.Errorf("queue %s: channels: unknown channel %q", q.Name, ch)
		}
	}
	for _, ch := range q.AutoAccept {
		if !slices.Contains(channels, ch) {
			return fmt.Errorf("queue %s: auto_accept: unknown channel %q", q.Name, ch)
		}
	}
	for ch, s := range q.OfferTimeoutSeconds {
		if !slices.Contains(channels, ch) {
			return fmt.Errorf("queue %s: offer_timeout_seconds: unknown channel %q", q.Name, ch)
		}
		if s < 0 {
			return fmt.Errorf("queue %s: offer_timeout_seconds: %s: negative", q.Name, ch)
		}
	}
	for _, s := range q.Skills {
		if err := validName(s); err != nil {
			return fmt.Errorf("queue %s: skills: %q: %w", q.Name, s, err)
		}
	}
	switch {
	case q.ServiceLevelSeconds < 0:
		return fmt.Errorf("queue %s: service_level_seconds: negative", q.Name)
	case q.OverflowAfterSeconds < 0:
		return fmt.Errorf("queue %s: overflow_after_seconds: negative", q.Name)
	case q.WrapUpSeconds < 0:
		return fmt.Errorf("queue %s: wrap_up_seconds: negative", q.Name)
	case q.OverflowQueue == q.Name:
		return fmt.Errorf("queue %s: overflow_queue: a queue cannot overflow into itself", q.Name)
	}
	return nil
}

// OfferTimeout is the time an agent has to accept an offer on channel ch.
func (q QueueConfig) OfferTimeout(ch string) time.Duration {
	if s := q.OfferTimeoutSeconds[ch]; s > 0 {
		return time.Duration(s) * time.Second
	}
	return channel.Name(ch).DefaultOfferTimeout()
}

// ServiceLevel is the queue's answer-time threshold.
func (q QueueConfig) ServiceLevel() time.Duration {
	if q.ServiceLevelSeconds > 0 {
		return time.Duration(q.ServiceLevelSeconds) * time.Second
	}
	return DefaultServiceLevel
}

// DefaultRecoveryBoost is RecoveryBoost's default.
const DefaultRecoveryBoost = 3

// recoveryBoost is the boost of a customer in service recovery.
func (q QueueConfig) recoveryBoost() int {
	switch {
	case q.RecoveryBoost < 0:
		return 0
	case q.RecoveryBoost == 0:
		return DefaultRecoveryBoost
	}
	return q.RecoveryBoost
}

// StickyWindow is how long a customer's last agent is preferred; negative
// means never.
func (q QueueConfig) StickyWindow() time.Duration {
	switch {
	case q.StickyWindowSeconds < 0:
		return -1
	case q.StickyWindowSeconds == 0:
		return DefaultStickyWindow
	}
	return time.Duration(q.StickyWindowSeconds) * time.Second
}

// OverflowAfter is the wait after which a conversation may overflow.
func (q QueueConfig) OverflowAfter() time.Duration {
	if q.OverflowAfterSeconds > 0 {
		return time.Duration(q.OverflowAfterSeconds) * time.Second
	}
	return DefaultOverflowAfter
}

// Serves reports whether the queue takes conversations on channel ch.
func (q QueueConfig) Serves(ch string) bool {
	return len(q.Channels) == 0 || slices.Contains(q.Channels, ch)
}

// scriptFields is the queue's settings as the scripts read them (qcfg hash).
func (q QueueConfig) scriptFields() map[string]any {
	f := map[string]any{
		"prio":      q.Priority,
		"sticky":    q.StickyWindow().Milliseconds(),
		"wrap":      int64(q.WrapUpSeconds) * 1000,
		"ovf":       q.OverflowQueue,
		"ovf_after": q.OverflowAfter().Milliseconds(),
	}
	for _, ch := range channels {
		f["to:"+ch] = q.OfferTimeout(ch).Milliseconds()
		aa := "0"
		if slices.Contains(q.AutoAccept, ch) {
			aa = "1"
		}
		f["aa:"+ch] = aa
	}
	return f
}

// AgentConfig is one agent, as written in the configuration file's
// `agents:` section and as passed to UpsertAgent.
type AgentConfig struct {
	// ID identifies the agent; required, no ':' or ',' in it.
	ID string `yaml:"id"`
	// Name is shown to supervisors and customers; empty means the ID.
	Name string `yaml:"name"`
	// Skills the agent has; empty means none.
	Skills []string `yaml:"skills"`
	// Queues the agent serves; empty means every configured queue.
	Queues []string `yaml:"queues"`
	// Capacity per channel: how many conversations at once. A missing entry
	// means AgentDefaults.Capacity, then DefaultCapacity; an explicit 0
	// means the agent takes none on that channel.
	Capacity map[string]int `yaml:"capacity"`
	// VoiceShared lets an agent on a call be offered other channels;
	// false (the default) keeps voice exclusive.
	VoiceShared bool `yaml:"voice_shared"`
	// MaxMissedOffers is how many offers in a row may lapse before the agent
	// is set away; 0 means AgentDefaults.MaxMissedOffers, negative never.
	MaxMissedOffers int `yaml:"max_missed_offers"`
}

// Agent is what UpsertAgent takes; it is the configuration type itself.
type Agent = AgentConfig

// AgentDefaults fill what an AgentConfig leaves out.
type AgentDefaults struct {
	// Capacity per channel; a missing entry means DefaultCapacity.
	Capacity map[string]int
	// MaxMissedOffers before an agent is set away; 0 means 3, negative never.
	MaxMissedOffers int
}

// Validate reports the first invalid field, naming it.
func (a AgentConfig) Validate() error {
	if err := validName(a.ID); err != nil {
		return fmt.Errorf("agent id %q: %w", a.ID, err)
	}
	for ch := range a.Capacity {
		if !slices.Contains(channels, ch) {
			return fmt.Errorf("agent %s: capacity: unknown channel %q", a.ID, ch)
		}
	}
	for _, s := range append(slices.Clone(a.Skills), a.Queues...) {
		if err := validName(s); err != nil {
			return fmt.Errorf("agent %s: skills/queues: %q: %w", a.ID, s, err)
		}
	}
	return nil
}

func (a AgentConfig) capacity(d AgentDefaults, ch string) int {
	n, ok := a.Capacity[ch]
	if !ok {
		n, ok = d.Capacity[ch]
	}
	if !ok {
		n = channel.Name(ch).DefaultCapacity()
	}
	return max(n, 0)
}

func (d AgentDefaults) maxMissed(a AgentConfig) int {
	switch {
	case a.MaxMissedOffers != 0:
		return max(a.MaxMissedOffers, 0)
	case d.MaxMissedOffers < 0:
		return 0
	case d.MaxMissedOffers == 0:
		return DefaultMaxMissedOffers
	}
	return d.MaxMissedOffers
}

var errBadName = errors.New("must be non-empty and contain no ':', ',', '{', '}' or whitespace")

// validName keeps names usable inside keys and the scripts' comma lists.
func validName(s string) error {
	if s == "" || strings.ContainsAny(s, ":,{} \t\r\n=") {
		return errBadName
	}
	return nil
}

// capacityArg encodes capacities for upsert_agent.lua: "voice=1,chat=3,...".
func capacityArg(a AgentConfig, d AgentDefaults) string {
	parts := make([]string, 0, len(channels))
	for _, ch := range channels {
		parts = append(parts, ch+"="+strconv.Itoa(a.capacity(d, ch)))
	}
	return strings.Join(parts, ",")
}
