package voice

import (
	"fmt"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/channel"
)

// What callers hear. Short sentences: they are spoken, and a caller who
// hears a long speech on hold hears nothing else.

func greeting(company string) string {
	return "Thanks for calling " + company + "."
}

// placeSentence says the place and, when routing has an honest one, the
// estimate. Without a place it says nothing.
func placeSentence(p channel.Place) string {
	if p.Position <= 0 {
		return ""
	}
	var b strings.Builder
	if p.Position == 1 {
		b.WriteString("You are next in line.")
	} else {
		fmt.Fprintf(&b, "You are number %d in line.", p.Position)
	}
	if w := waitPhrase(p); w != "" {
		b.WriteString(" The wait is " + w + ".")
	}
	return b.String()
}

// waitPhrase is the estimate as spoken: "less than a minute", "up to 2
// minutes", "about 3 minutes", "about 3 to 5 minutes"; "" when there is
// no honest estimate.
func waitPhrase(p channel.Place) string {
	if !p.Known || p.High < p.Low || p.Low < 0 {
		return ""
	}
	if p.High < time.Minute {
		return "less than a minute"
	}
	// The bottom rounds down and the top up: a range that is a little
	// wide is kept; one that is too narrow is broken.
	lo := int(p.Low / time.Minute)
	hi := int((p.High + time.Minute - 1) / time.Minute)
	if lo < 1 {
		return fmt.Sprintf("up to %d %s", hi, plural(hi, "minute"))
	}
	if lo >= hi {
		return fmt.Sprintf("about %d %s", hi, plural(hi, "minute"))
	}
	return fmt.Sprintf("about %d to %d minutes", lo, hi)
}

func plural(n int, w string) string {
	if n == 1 {
		return w
	}
	return w + "s"
}

// welcomeBack greets a caller whose callback is booked: they keep it.
func welcomeBack(company string) string {
	return "Thanks for calling " + company + " again. Your callback is booked and you keep your place in line."
}

const callbackOffer = "To be called back instead, press 1. You keep your place in line."

// callbackConfirmation names the estimate the caller keeps.
func callbackConfirmation(p channel.Place) string {
	s := "Thank you. We will call you back at this number and you keep your place in line."
	if w := waitPhrase(p); w != "" {
		s += " We expect to call in " + w + "."
	}
	return s + " Goodbye."
}

const cannotHold = "We cannot hold your call right now. We will call you back at this number, and you keep your place in line. Goodbye."

const cannotHoldNoNumber = "We cannot hold your call right now, and we cannot see your number to call you back. Please call again soon. Goodbye."

// closedMessage says when the queue opens (opens: "tomorrow at 09:00 CET",
// empty when unknown), then asks for a message.
func closedMessage(company, opens string) string {
	s := "Thanks for calling " + company + ". We are closed right now"
	if opens != "" {
		s += " and open " + opens
	}
	return s + ". Please leave a message after the tone and we will get back to you first thing."
}

func minutesSeconds(d time.Duration) string {
	d = d.Round(time.Second)
	if d < time.Minute {
		return fmt.Sprintf("%d s", int(d/time.Second))
	}
	return fmt.Sprintf("%d min %d s", int(d/time.Minute), int(d%time.Minute/time.Second))
}
