package email

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/channel"
)

// countingFiles counts the attachments the channel stores.
type countingFiles struct {
	Attachments
	mu     sync.Mutex
	stored int
}

func (c *countingFiles) StoreAttachment(ctx context.Context, name, contentType string, r io.Reader) (channel.Attachment, error) {
	c.mu.Lock()
	c.stored++
	c.mu.Unlock()
	return c.Attachments.StoreAttachment(ctx, name, contentType, r)
}

// existsRecorder records the keys of EXISTS commands sent outside scripts.
type existsRecorder struct {
	mu   sync.Mutex
	keys []string
}

func (r *existsRecorder) DialHook(next redis.DialHook) redis.DialHook { return next }
func (r *existsRecorder) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (r *existsRecorder) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if strings.EqualFold(cmd.Name(), "exists") {
			r.mu.Lock()
			for _, a := range cmd.Args()[1:] {
				if s, ok := a.(string); ok {
					r.keys = append(r.keys, s)
				}
			}
			r.mu.Unlock()
		}
		return next(ctx, cmd)
	}
}

// A mail fetched again after a crash keeps the files stored the first
// time; asking whether it was stored costs a round trip, so only a mail
// with files asks.
func TestARefetchedMailStoresItsFilesOnceAndAPlainMailDoesNotAsk(t *testing.T) {
	e := newEnv(t, nil)
	files := &countingFiles{Attachments: e.ch.att}
	e.ch.att = files
	rec := &existsRecorder{}
	e.rdb.AddHook(rec)
	mb := &e.ch.cfg.Mailboxes[0]
	ctx := context.Background()

	withFiles := readMail(t, "attachments_html_only.eml")
	for range 2 {
		if _, err := e.ch.ingest(ctx, mb, withFiles, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	files.mu.Lock()
	stored := files.stored
	files.mu.Unlock()
	m, _ := Parse(withFiles, e.ch.cfg.Limits)
	if len(m.Attachments) == 0 || stored != len(m.Attachments) {
		t.Fatalf("stored %d files for a mail with %d, fetched twice; want each once", stored, len(m.Attachments))
	}

	rec.mu.Lock()
	rec.keys = nil
	rec.mu.Unlock()
	plain := rawMail([][2]string{{"From", "Ana <ana@example.com>"}, {"To", supportAddr}, {"Subject", "Hi"},
		{"Message-ID", "<plain-1@example.com>"}}, "No files here.")
	if _, err := e.ch.ingest(ctx, mb, plain, time.Now()); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, k := range rec.keys {
		if strings.Contains(k, ":email:msg:") {
			t.Fatalf("a mail without files asked whether it was stored: EXISTS %s", k)
		}
	}
}
