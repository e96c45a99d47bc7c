package email

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
)

// crashChildEnv makes the test binary a gateway that reads the mailbox
// until it is killed (see crashChild).
const crashChildEnv = "EMAIL_CRASH_CHILD"

// crashChild runs in a child process: one gateway with the email channel,
// configured from the environment, reading until SIGKILL.
func crashChild() int {
	ws := os.Getenv("EMAIL_CRASH_WS")
	imapPort, _ := strconv.Atoi(os.Getenv("EMAIL_CRASH_IMAP_PORT"))
	rdb := redis.NewClient(&redis.Options{Addr: os.Getenv("EMAIL_CRASH_REDIS")})
	ls := &lateSender{}
	svc, err := conversation.New(conversation.Params{
		Redis: rdb, Workspace: ws, Router: &router{},
		Senders:       map[channel.Name]conversation.Sender{channel.Email: ls},
		AttachmentDir: os.Getenv("EMAIL_CRASH_ATT"),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cfg := mailboxConfig(imapPort, os.Getenv("EMAIL_CRASH_SMTP"))
	ch, err := New(cfg, Deps{Core: &core{Service: svc}, Redis: rdb, Workspace: ws, Attachments: svc,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ls.ch = ch
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	_ = ch.Run(ctx)
	return 0
}

// A gateway SIGKILLed in the middle of importing a full mailbox, then
// another started: every mail ends up in exactly one conversation message,
// none twice, and every mail is flagged \Seen.
func TestCrashMidImportLosesAndDoublesNothing(t *testing.T) {
	e := newEnv(t, nil)
	const n = 150
	var msgs [][]byte
	for i := range n {
		hdr := [][2]string{
			{"From", fmt.Sprintf("Customer %d <c%d@example.com>", i%40, i%40)},
			{"To", supportAddr}, {"Subject", fmt.Sprintf("question %d", i)},
			{"Date", "Tue, 01 Dec 2026 10:00:00 +0000"}, {"Content-Type", "text/plain; charset=utf-8"},
		}
		if i%10 != 9 {
			// Every tenth has no Message-ID: deduplicated by header hash.
			hdr = append(hdr, [2]string{"Message-ID", fmt.Sprintf("<crash-%d@example.com>", i)})
		}
		msgs = append(msgs, rawMail(hdr, fmt.Sprintf("body %d", i)))
	}
	if err := e.dove.Deliver(supportUser, "", msgs...); err != nil {
		t.Fatal(err)
	}
	child := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"=1", "EMAIL_CRASH_WS="+e.ws,
			"EMAIL_CRASH_IMAP_PORT="+strconv.Itoa(e.dove.Port), "EMAIL_CRASH_REDIS="+server.Addr,
			"EMAIL_CRASH_SMTP="+e.smtp.addr, "EMAIL_CRASH_ATT="+t.TempDir(), "TEST_IMAP_PASSWORD="+supportPass)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	first := child()
	eventually(t, "the first gateway to import a third", 60*time.Second, func() bool { return e.checkpoint() >= n/3 })
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	at := e.checkpoint()
	if at >= n {
		t.Fatalf("the kill came too late to test anything: checkpoint %d of %d", at, n)
	}
	second := child()
	t.Cleanup(func() { _ = second.Process.Kill(); _ = second.Wait() })
	// The dead gateway's lease lapses within its TTL; then the second one
	// finishes the mailbox.
	eventually(t, "the second gateway to finish", 60*time.Second, func() bool { return e.checkpoint() == n })
	t.Logf("killed at checkpoint %d of %d", at, n)

	seen := map[string]int{}
	total := 0
	for _, conv := range e.conversations() {
		for _, m := range e.customerMessages(conv) {
			seen[m.ProviderID]++
			total++
		}
	}
	if total != n || len(seen) != n {
		t.Fatalf("stored %d messages with %d distinct ids, want %d of each", total, len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s stored %d times", id, c)
		}
	}
	flags, err := e.dove.Flags(supportUser)
	if err != nil {
		t.Fatal(err)
	}
	for uid, f := range flags {
		if !hasSeen(f) {
			t.Errorf("uid %d not flagged \\Seen", uid)
		}
	}
	// One acknowledgement per new conversation, none doubled by the crash
	// beyond the one whose ack raced the kill.
	if acks, convs := len(e.smtp.all()), len(e.conversations()); acks > convs || acks < convs-1 {
		t.Errorf("acknowledgements %d for %d conversations", acks, convs)
	}
}
