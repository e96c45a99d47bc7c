package channel

import (
	"fmt"
	"time"
)

// Name names the medium a conversation runs on. Routing keeps agent
// capacity per Name, so these strings appear in the routing configuration,
// in Redis and in the Lua scripts.
type Name string

// The channels Switchboard speaks.
const (
	Voice Name = "voice"
	Chat  Name = "chat"
	SMS   Name = "sms"
	Email Name = "email"
)

// All lists every channel, in the order routing considers them.
var All = []Name{Voice, Chat, SMS, Email}

// Valid reports whether n is one of All.
func (n Name) Valid() bool {
	for _, c := range All {
		if c == n {
			return true
		}
	}
	return false
}

// Parse returns the channel named s, or an error naming it.
func Parse(s string) (Name, error) {
	n := Name(s)
	if !n.Valid() {
		return "", fmt.Errorf("unknown channel %q (want voice, chat, sms or email)", s)
	}
	return n, nil
}

// DefaultCapacity is how many conversations of channel n an agent holds at
// once when neither the agent nor the configuration says otherwise. Voice is
// exclusive: an agent on a call takes nothing else.
func (n Name) DefaultCapacity() int {
	switch n {
	case Voice:
		return 1
	case Chat:
		return 3
	}
	return 5
}

// DefaultOfferTimeout is how long an agent has to accept an offer of
// channel n when the queue does not say: a caller hears ringing, so voice
// is shorter.
func (n Name) DefaultOfferTimeout() time.Duration {
	if n == Voice {
		return 20 * time.Second
	}
	return 30 * time.Second
}
