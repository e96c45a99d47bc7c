package voice

import (
	"fmt"
	"strings"

	"github.com/twilio/twilio-go/twiml"

	"github.com/switchboard/switchboard/internal/channel"
)

// voicemailDone is <Record>'s action: the caller finished their message.
func (c *Channel) voicemailDone(*webhook) (string, error) {
	return document(c.say("Thank you. We will get back to you. Goodbye."), &twiml.VoiceHangup{})
}

// recording is the recording status callback: a voicemail becomes a
// conversation in its queue (answered first thing: it waits from the time
// it was left); a recorded call gets a link in its transcript.
func (c *Channel) recording(w *webhook) (string, error) {
	cs, ok, err := c.callOf(w)
	if err != nil || !ok {
		return "", err
	}
	h := w.h
	if h.RecordingStatus != "completed" {
		return "", nil // absent or failed: nothing to keep
	}
	if h.RecordingSid == "" || h.RecordingURL == "" {
		return "", badField("RecordingSid", "missing on a completed recording")
	}
	// Twilio serves the recording at its URL in several formats; MP3
	// plays in every browser.
	link := strings.TrimSuffix(h.RecordingURL, ".json") + ".mp3"
	switch w.q.Get("kind") {
	case "voicemail":
		from := cs.From
		if _, ok := callerNumber(from); !ok {
			from = "withheld:" + cs.Sid
		}
		receipt, err := c.core.Receive(w.ctx, channel.Inbound{
			Channel: channel.Voice, From: from, To: cs.To,
			Text:        fmt.Sprintf("Voicemail from %s (%d s).", cs.From, h.RecordingDuration),
			Attachments: []channel.Attachment{{Name: h.RecordingSid + ".mp3", ContentType: "audio/mpeg", URL: link}},
			ProviderID:  h.RecordingSid, ThreadHint: cs.Sid, ReceivedAt: w.now,
		})
		if err != nil {
			return "", fmt.Errorf("voice: store voicemail %s: %w", h.RecordingSid, err)
		}
		if err := c.calls.linkConversation(w.ctx, cs.Sid, receipt.ConversationID); err != nil {
			return "", err
		}
	case "call":
		first, err := c.calls.once(w.ctx, cs.Sid, "recording:"+h.RecordingSid)
		if err != nil || !first {
			return "", err
		}
		c.record(w.ctx, cs.Conv, "recording", fmt.Sprintf("Call recording (%d s): %s", h.RecordingDuration, link))
	default:
		return "", badField("kind", "not voicemail or call")
	}
	return "", nil
}

// transcription adds a voicemail's transcription to its conversation.
func (c *Channel) transcription(w *webhook) (string, error) {
	cs, ok, err := c.callOf(w)
	if err != nil || !ok {
		return "", err
	}
	if w.h.TranscriptionStatus != "completed" || cs.Conv == "" {
		if cs.Conv == "" {
			// The recording callback has not arrived yet: Twilio retries
			// a 503, by which time the conversation exists.
			return "", fmt.Errorf("voice: transcription of %s before its voicemail", cs.Sid)
		}
		return "", nil
	}
	first, err := c.calls.once(w.ctx, cs.Sid, "transcription")
	if err != nil || !first {
		return "", err
	}
	c.record(w.ctx, cs.Conv, "voicemail_transcript", "Voicemail transcript: "+w.h.TranscriptionText)
	return "", nil
}
