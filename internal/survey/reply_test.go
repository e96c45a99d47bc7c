package survey

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestParseReply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, in string
		score    int
		comment  string
	}{
		{"bare digit", "4", 4, ""},
		{"spaces and newline", "  5 \n", 5, ""},
		{"exclamation", "5!", 5, ""},
		{"scale", "3/5", 3, ""},
		{"scale spaced", "3 / 5", 3, ""},
		{"out of", "2 out of 5", 2, ""},
		{"full-width", "４", 4, ""},
		{"keycap", "1\uFE0F\u20E3", 1, ""},
		{"with comment", "2 the agent was rude", 2, "the agent was rude"},
		{"dash comment", "1 - slow answer", 1, "slow answer"},
		{"comment keeps its end", "5 great, thanks!", 5, "great, thanks!"},
		{"zero", "0", 0, ""},
		{"six", "6", 0, ""},
		{"ten", "10", 0, ""},
		{"forty-five", "45", 0, ""},
		{"decimal", "4.5", 0, ""},
		{"decimal comma", "4,5", 0, ""},
		{"word first", "thanks 5", 0, ""},
		{"empty", "", 0, ""},
		{"question", "when do you open?", 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			got := ParseReply(tc.in)
			if got.Score != tc.score || got.Comment != tc.comment {
				t.Fatalf("ParseReply(%q) = %+v, want score %d comment %q", tc.in, got, tc.score, tc.comment)
			}
			if got.Bare() != (tc.score > 0 && tc.comment == "") {
				t.Fatalf("Bare() = %v", got.Bare())
			}
		})
	}
}

// FuzzParseReply checks what every reply must satisfy: a score on the
// scale or none, a comment only with a score, valid UTF-8 no longer than
// the input, and a bare rating only when the text starts with its digit.
func FuzzParseReply(f *testing.F) {
	for _, s := range []string{"4", "2 the agent was rude", "45", "4.5", "５", "3/5", "1\uFE0F\u20E3 ok", "\xff4", "4\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r := ParseReply(in)
		if r.Score < 0 || r.Score > 5 {
			t.Fatalf("score %d off the scale", r.Score)
		}
		if r.Score == 0 && r.Comment != "" {
			t.Fatalf("comment %q without a score", r.Comment)
		}
		if !utf8.ValidString(r.Comment) {
			t.Fatalf("comment %q is not UTF-8", r.Comment)
		}
		if len(r.Comment) > len(in)+len("\uFFFD")*len(in) {
			t.Fatalf("comment longer than the input")
		}
		if r.Score > 0 && !strings.ContainsAny(in, "12345１２３４５") {
			t.Fatalf("score %d from %q without a digit", r.Score, in)
		}
		if r.Bare() && strings.IndexFunc(in, unicode.IsLetter) >= 0 && !strings.Contains(strings.ToLower(in), "out of") && !strings.Contains(strings.ToLower(in), "of 5") {
			// A bare rating has no words: words make it a message too.
			t.Fatalf("bare rating from %q, which has words", in)
		}
	})
}

func BenchmarkParseReply(b *testing.B) {
	for i := 0; i < b.N; i++ {
		ParseReply("2 the agent was rude")
	}
}
