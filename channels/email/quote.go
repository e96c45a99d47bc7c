package email

import (
	"regexp"
	"strings"
)

// quoteStart matches the line that introduces the quoted history in the
// common clients: Gmail and Apple Mail ("On … wrote:"), Outlook
// ("-----Original Message-----", or a "From:" line followed by "Sent:"),
// and their translations that keep the shape.
var (
	wroteLine    = regexp.MustCompile(`(?i)^\s*(on|am|le|el|op|il)\s.{4,200}(wrote|schrieb|a écrit|escribió|schreef|ha scritto)\s*:\s*$`)
	originalLine = regexp.MustCompile(`(?i)^\s*-{2,}\s*(original message|ursprüngliche nachricht|message d'origine|forwarded message)\s*-{2,}\s*$`)
	outlookFrom  = regexp.MustCompile(`(?i)^\s*\*?(from|von|de)\s*:\*?\s+\S`)
	outlookSent  = regexp.MustCompile(`(?i)^\s*\*?(sent|date|gesendet|envoyé|enviado)\s*:\*?\s+\S`)
)

// SplitQuoted separates the new text of a reply from the quoted history
// below it. It returns the whole text as fresh when it finds no history, so
// nothing a customer wrote is ever hidden without a marker to fold on.
func SplitQuoted(text string) (fresh, quoted string) {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	cut := -1
	for i, l := range lines {
		if wroteLine.MatchString(l) || originalLine.MatchString(l) {
			cut = i
			break
		}
		// "On Tue, 1 Dec 2026 at 10:00, Bo <bo@example.com>" may wrap.
		if strings.TrimSpace(l) != "" && i+1 < len(lines) && wroteLine.MatchString(l+" "+lines[i+1]) {
			cut = i
			break
		}
		if outlookFrom.MatchString(l) && i+1 < len(lines) && outlookSent.MatchString(lines[i+1]) {
			cut = i
			break
		}
		if strings.HasPrefix(l, ">") && restQuoted(lines[i:]) {
			cut = i
			break
		}
	}
	if cut <= 0 {
		// No history, or everything is history (a bare forward): show it all.
		return text, ""
	}
	fresh = strings.TrimRight(strings.Join(lines[:cut], "\n"), " \n")
	quoted = strings.Join(lines[cut:], "\n")
	if strings.TrimSpace(fresh) == "" {
		return text, ""
	}
	return fresh, quoted
}

// restQuoted: from here on, every non-blank line is quoted.
func restQuoted(lines []string) bool {
	for _, l := range lines {
		if strings.TrimSpace(l) != "" && !strings.HasPrefix(l, ">") {
			return false
		}
	}
	return true
}
