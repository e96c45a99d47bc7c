package conversation

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchboard/switchboard/internal/channel"
)

func TestAttachments(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(p *Params) { p.MaxAttachmentBytes = 100; p.MaxMessageAttachmentBytes = 150 })
	ctx := context.Background()
	a, err := e.svc.StoreAttachment(ctx, "../../etc/pass wd", "text/plain", bytes.NewReader(make([]byte, 80)))
	if err != nil {
		t.Fatal(err)
	}
	if a.Size != 80 || filepath.Base(a.StoredPath) == "" || !filepath.IsLocal(a.StoredPath) {
		t.Fatalf("stored %+v", a)
	}
	f, info, err := e.svc.OpenAttachment(ctx, a.StoredPath)
	if err != nil || info.Size != 80 {
		t.Fatal(info, err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if len(b) != 80 {
		t.Fatalf("read back %d bytes", len(b))
	}
	if _, _, err := e.svc.OpenAttachment(ctx, "../x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("escape: %v", err)
	}

	// Over the per-file limit: refused, nothing left on disk.
	if _, err := e.svc.StoreAttachment(ctx, "big", "", bytes.NewReader(make([]byte, 101))); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("big file: %v", err)
	}
	n := 0
	_ = filepath.Walk(e.params.AttachmentDir, func(_ string, fi os.FileInfo, _ error) error {
		if fi != nil && !fi.IsDir() {
			n++
		}
		return nil
	})
	if n != 1 {
		t.Fatalf("%d files on disk, want 1", n)
	}

	// Over the per-message limit: the reply is refused; a lying size is
	// corrected from the file.
	a2, err := e.svc.StoreAttachment(ctx, "b.txt", "", bytes.NewReader(make([]byte, 80)))
	if err != nil {
		t.Fatal(err)
	}
	r := openConv(t, e)
	if _, err := e.svc.Reply(ctx, r.ConversationID, "ana", "two files", []channel.Attachment{a, a2}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("message over limit: %v", err)
	}
	a.Size = 1
	en, err := e.svc.Reply(ctx, r.ConversationID, "ana", "one file", []channel.Attachment{a})
	if err != nil || en.Attachments[0].Size != 80 {
		t.Fatalf("reply: %+v %v", en, err)
	}
	if _, err := e.svc.Reply(ctx, r.ConversationID, "ana", "x", []channel.Attachment{{Name: "x", StoredPath: "2026/01/nope"}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("missing file: %v", err)
	}
	// Inbound: stored media are checked too, and kept as metadata.
	in := sms("+14155550101", "photo", "SM-media")
	in.Attachments = []channel.Attachment{a2, {Name: "remote.jpg", ContentType: "image/jpeg", URL: "https://media.example/1", Size: 10}}
	rr, err := e.svc.Receive(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	tr, _ := e.svc.Transcript(ctx, rr.ConversationID, "", 0)
	var got []channel.Attachment
	for _, x := range tr {
		if x.MessageID == rr.MessageID {
			got = x.Attachments
		}
	}
	if len(got) != 2 || got[0].StoredPath != a2.StoredPath || got[1].URL == "" {
		t.Fatalf("inbound attachments = %+v", got)
	}
}
