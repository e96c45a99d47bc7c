package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/imaptest"
	"github.com/switchboard/switchboard/internal/redistest"
)

// TestEmailFromMailboxToAgent follows one email through the whole gateway,
// with the email channel as the wiring lists it: a mail delivered to a real
// Dovecot mailbox becomes a conversation, the agent's console gets the
// email offer, and the console's mail view answers the agent who holds the
// conversation and nobody else.
func TestEmailFromMailboxToAgent(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	imap := imaptest.Start(t, map[string]string{"support": "imap-secret-1"})
	dir := t.TempDir()
	pw := filepath.Join(dir, "imap-password")
	if err := os.WriteFile(pw, []byte("imap-secret-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "switchboard.yaml")
	yaml := fmt.Sprintf(`channels:
  email:
    mailboxes:
      - address: support@example.test
        name: Example Support
        imap: {host: 127.0.0.1, port: %d, tls: plain, user: support, password_file: %s, poll_interval: 1s}
        smtp: {host: 127.0.0.1, port: 1, tls: plain}
`, imap.Port, pw)
	if err := os.WriteFile(conf, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	base := start(t, map[string]string{
		"REDIS_URL": srv.URL(), "SWITCHBOARD_PUBLIC_URL": publicURL, "SWITCHBOARD_CONFIG": conf,
		"SWITCHBOARD_ADMIN_PASSWORD": "admin-password-1",
	})
	authSvc, err := auth.New(auth.Config{Redis: srv.NewClient(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"ana", "ben"} {
		if err := authSvc.CreateAccount(context.Background(), auth.Account{ID: id, Name: id, Role: auth.RoleAgent}, id+"-password-1"); err != nil {
			t.Fatal(err)
		}
	}
	anaCookies := login(t, base, "ana", "ana-password-1")
	agent := dialConsole(t, base, anaCookies)
	benCookies := login(t, base, "ben", "ben-password-1")
	agent.ack(agent.send("state", map[string]any{"state": "available"}))

	mail := "From: Maria Svensson <maria@customer.example>\r\nTo: support@example.test\r\n" +
		"Subject: Where is my parcel?\r\nMessage-ID: <parcel-1@customer.example>\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\nHej! My parcel never arrived.\r\n"
	if err := imap.Deliver("support", "INBOX", []byte(mail)); err != nil {
		t.Fatal(err)
	}
	offer := agent.next("email offer", ofType("offer"))["offer"].(map[string]any)
	conv := offer["conv"].(string)
	if offer["channel"] != "email" || !strings.Contains(offer["preview"].(string), "parcel") {
		t.Fatalf("offer: %v", offer)
	}
	agent.ack(agent.send("accept", map[string]any{"conv": conv}))
	agent.next("assigned", ofType("assigned"))

	if code := getStatus(t, base+"/api/email/conversations/"+conv, anaCookies); code != 200 {
		t.Fatalf("ana reads her email conversation's mail view: %d", code)
	}
	if code := getStatus(t, base+"/api/email/conversations/"+conv, benCookies); code != 404 {
		t.Fatalf("ben reads ana's mail view: %d, want 404", code)
	}
	if code := getStatus(t, base+"/api/email/conversations/"+conv, nil); code != 401 {
		t.Fatalf("anonymous mail view: %d, want 401", code)
	}
}
