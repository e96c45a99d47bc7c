package survey

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/hours"
)

// Config is the `surveys:` section of the configuration file. Every zero
// value means the documented default.
type Config struct {
	// Off turns surveys off; the default is on.
	Off bool `yaml:"off"`
	// DelaySeconds is how long after a resolved close the question goes
	// out, per channel ("sms", "email", "chat", "voice"); a missing entry
	// means 0 for chat (the visitor is still on the page) and 600 (ten
	// minutes) for the others.
	DelaySeconds map[string]int `yaml:"delay_seconds"`
	// SendHours are when a question may go out, read in the workspace time
	// zone; a question due in quiet hours waits for the next span. Empty
	// means every day 08:00–21:00. Chat questions ignore it: the visitor
	// is on the page.
	SendHours *hours.Week `yaml:"send_hours"`
	// WindowHours is how long a reply counts as the answer; 0 means 72.
	WindowHours int `yaml:"window_hours"`
	// VoiceSMSFrom is our Twilio number that texts callers their question
	// after a call; empty means callers get none.
	VoiceSMSFrom string `yaml:"voice_sms_from"`
	// Wording is the text per queue; a queue not listed, or a field left
	// empty, uses DefaultWording.
	Wording map[string]Wording `yaml:"wording"`
}

// Wording is what a queue's question says. {agent} is the first name of
// the agent who closed the conversation; {link} (email only) is where the
// five rating links go.
type Wording struct {
	// SMS is the text of the SMS (and the voice follow-up SMS).
	SMS string `yaml:"sms"`
	// Chat is the line above the widget's five buttons.
	Chat string `yaml:"chat"`
	// EmailBody is the email, sent in the conversation's thread (its
	// subject is the thread's "Re:"); it must hold {link}.
	EmailBody string `yaml:"email_body"`
	// Thanks answers a rating on the page and in the widget.
	Thanks string `yaml:"thanks"`
}

// DefaultWording is used where the configuration says nothing.
var DefaultWording = Wording{
	SMS:       "Thanks for talking to {agent} today. How did we do? Reply 1–5 (5 = great).",
	Chat:      "Thanks for chatting with {agent}. How did we do?",
	EmailBody: "Thanks for talking to {agent}. How did we do? Choose a rating (1 = poor, 5 = great):\n\n{link}\n\nThe links work once and only for this conversation.",
	Thanks:    "Thank you for your rating.",
}

// Defaults.
const (
	DefaultDelay  = 10 * time.Minute
	DefaultWindow = 72 * time.Hour
)

// Validate reports the first invalid field.
func (c Config) Validate() error {
	for ch, s := range c.DelaySeconds {
		if s < 0 {
			return fmt.Errorf("surveys.delay_seconds.%s: negative", ch)
		}
	}
	if c.WindowHours < 0 {
		return errors.New("surveys.window_hours: negative")
	}
	for q, w := range c.Wording {
		if w.EmailBody != "" && !strings.Contains(w.EmailBody, "{link}") {
			return fmt.Errorf("surveys.wording.%s.email_body: must contain {link}", q)
		}
	}
	return nil
}

// Delay is how long after the close the question on channel ch is due.
func (c Config) Delay(ch string) time.Duration {
	if s, ok := c.DelaySeconds[ch]; ok {
		return time.Duration(s) * time.Second
	}
	if ch == "chat" {
		return 0
	}
	return DefaultDelay
}

// Window is how long a reply counts as the answer.
func (c Config) Window() time.Duration {
	if c.WindowHours > 0 {
		return time.Duration(c.WindowHours) * time.Hour
	}
	return DefaultWindow
}

// words is queue's wording with defaults filled in.
func (c Config) words(queue string) Wording {
	w := c.Wording[queue]
	if w.SMS == "" {
		w.SMS = DefaultWording.SMS
	}
	if w.Chat == "" {
		w.Chat = DefaultWording.Chat
	}
	if w.EmailBody == "" {
		w.EmailBody = DefaultWording.EmailBody
	}
	if w.Thanks == "" {
		w.Thanks = DefaultWording.Thanks
	}
	return w
}

// defaultSendHours is every day 08:00–21:00.
var defaultSendHours = &hours.Week{Open: []hours.Span{{Days: "mon-sun", From: "08:00", To: "21:00"}}}

// render fills {agent} in.
func render(text, agent string) string {
	if agent == "" {
		agent = "us"
	}
	return strings.ReplaceAll(text, "{agent}", agent)
}
