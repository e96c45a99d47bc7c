package sms

import "testing"

func TestParseKeyword(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]keyword{
		"STOP": keywordStop, " stop\n": keywordStop, "Unsubscribe": keywordStop, "stopall": keywordStop,
		"yes": keywordStart, "UNSTOP": keywordStart, "info": keywordHelp,
		"stop.": keywordNone, "please stop": keywordNone, "": keywordNone, "S T O P": keywordNone,
	} {
		if got := parseKeyword(body); got != want {
			t.Errorf("parseKeyword(%q) = %v, want %v", body, got, want)
		}
	}
}
