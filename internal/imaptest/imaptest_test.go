package imaptest

import (
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

func TestDeliverAndKick(t *testing.T) {
	s := Start(t, map[string]string{"support": "secret"})
	msg := []byte("From: a@example.com\r\nTo: support@example.com\r\nSubject: hi\r\nMessage-ID: <1@a>\r\n\r\nhello\r\n")
	if err := s.Deliver("support", "", msg, msg); err != nil {
		t.Fatalf("deliver: %v\n%s", err, s.Log())
	}
	flags, err := s.Flags("support")
	if err != nil {
		t.Fatal(err)
	}
	if len(flags) != 2 {
		t.Fatalf("messages = %d, want 2", len(flags))
	}
	for uid, f := range flags {
		for _, fl := range f {
			if fl == imap.FlagSeen {
				t.Fatalf("uid %d delivered seen", uid)
			}
		}
	}
	c, err := s.Dial("support")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := s.Kick("support"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Closed():
	case <-time.After(5 * time.Second):
		t.Fatal("connection not closed by kick")
	}
	if err := c.Noop().Wait(); err == nil {
		t.Fatal("connection still usable after kick")
	}
}
