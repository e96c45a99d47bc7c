package agentui

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/desk"
)

// encodedLen must not undercount what encoding/json writes, or pages pass
// their budget.
func TestEncodedLenCoversJSON(t *testing.T) {
	t.Parallel()
	for _, text := range []string{"", "plain", strings.Repeat("<", 2000), "quote \" back \\ \n\t",
		"\u2028\u2029 é 📦 & >", string([]byte{0xff, 'a', 0x01})} {
		m := desk.Message{ID: "1700000000000-12", ConversationID: "cv_abcdefghijklmnop", Kind: desk.KindCustomer,
			Author: "Mallory <x>", Text: text, At: time.Now(), Status: desk.StatusDelivered, Error: "e&e",
			Attachments: []desk.MessageFile{{Name: "a<b>.pdf", ContentType: "application/pdf", Size: 123456, Path: "2026/12/x-a.pdf"}}}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if got := encodedLen(m); got < len(b) || got > len(b)+200 {
			t.Errorf("text %q: encodedLen %d, encoded %d", text, got, len(b))
		}
	}
}
