package conversation

import "testing"

// Agents read the close line in the transcript: words, not identifiers.
func TestClosedText(t *testing.T) {
	t.Parallel()
	tests := []struct{ agent, disposition, want string }{
		{"", DispositionCustomerEnded, "The customer ended the chat"},
		{"ana", "resolved", "Closed by ana · resolved"},
		{"ana", "no_answer", "Closed by ana · no answer"},
		{"", "", "Closed"},
	}
	for _, tc := range tests {
		if got := closedText(tc.agent, tc.disposition); got != tc.want {
			t.Errorf("closedText(%q, %q) = %q, want %q", tc.agent, tc.disposition, got, tc.want)
		}
	}
}
