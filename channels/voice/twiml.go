package voice

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/twilio/twilio-go/twiml"
)

// document renders TwiML verbs as a <Response>.
func document(verbs ...twiml.Element) (string, error) {
	s, err := twiml.Voice(verbs)
	if err != nil {
		return "", fmt.Errorf("voice: render TwiML: %w", err)
	}
	return s, nil
}

func (c *Channel) say(text string) twiml.Element {
	return &twiml.VoiceSay{Message: text, Voice: c.cfg.SayVoice, Language: c.cfg.Language}
}

// hold is what a waiting caller hears between announcements.
func (c *Channel) hold() twiml.Element {
	if c.cfg.HoldMusic != "" {
		return &twiml.VoicePlay{Url: c.cfg.HoldMusic}
	}
	return &twiml.VoicePause{Length: strconv.Itoa(secs(c.cfg.AnnounceEvery))}
}

// twilioQueue is the Twilio queue holding the callers of our queue. It
// only holds them: who is answered next is decided by our routing.
func twilioQueue(queue string) string { return "sb-" + queue }

// enqueue holds the caller in the Twilio queue; the wait URL speaks to
// them and the action URL learns how they left.
func (c *Channel) enqueue(queue string) twiml.Element {
	return &twiml.VoiceEnqueue{
		Name:          twilioQueue(queue),
		Action:        c.url(QueueResultPath),
		Method:        http.MethodPost,
		WaitUrl:       c.url(WaitPath),
		WaitUrlMethod: http.MethodPost,
	}
}

func secs(d time.Duration) int {
	s := int(d / time.Second)
	if s < 1 {
		return 1
	}
	return s
}
