package sms

import "strings"

// keyword is a compliance keyword Twilio acts on for a number using its
// default opt-out handling.
type keyword int

const (
	keywordNone keyword = iota
	keywordStop
	keywordStart
	keywordHelp
)

// Twilio's default keywords and synonyms. Twilio matches them only when
// they are the whole message (ignoring case and surrounding whitespace), so
// "please stop calling me" is an ordinary message and "Stop." is not a
// keyword either; we match exactly as Twilio does so that our record never
// disagrees with Twilio's own block list.
var keywords = map[string]keyword{
	"STOP": keywordStop, "STOPALL": keywordStop, "UNSUBSCRIBE": keywordStop,
	"CANCEL": keywordStop, "END": keywordStop, "QUIT": keywordStop,
	"START": keywordStart, "YES": keywordStart, "UNSTOP": keywordStart,
	"HELP": keywordHelp, "INFO": keywordHelp,
}

func parseKeyword(body string) keyword {
	return keywords[strings.ToUpper(strings.TrimSpace(body))]
}
