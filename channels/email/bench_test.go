package email

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
)

// Run with -benchtime=1x: each run is a fixed amount of work against a
// real Dovecot and redis-server on loopback.
//
//	go test -run '^$' -bench 'Ingest|IdleLatency' -benchtime=1x ./channels/email/

// BenchmarkIngest: 1,000 mails waiting in the mailbox (delivered before the
// clock starts), one gateway starts; mails/s until the last is stored,
// flagged and checkpointed.
func BenchmarkIngest(b *testing.B) {
	const n = 1000
	for range b.N {
		b.StopTimer()
		e := newEnv(b, func(c *Config) { f := false; c.AutoAck = &f })
		var msgs [][]byte
		for i := range n {
			msgs = append(msgs, rawMail([][2]string{
				{"From", fmt.Sprintf("c%d@example.com", i%200)}, {"To", supportAddr}, {"Subject", fmt.Sprintf("order %d", i)},
				{"Message-ID", fmt.Sprintf("<bench-%d@example.com>", i)}, {"Date", "Tue, 01 Dec 2026 10:00:00 +0000"},
				{"Content-Type", "text/plain; charset=utf-8"},
			}, fmt.Sprintf("Hello, about order %d.\n\nOn Mon, Shop wrote:\n> earlier text\n", i)))
		}
		if err := e.dove.Deliver(supportUser, "", msgs...); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		stop := run(b, e.ch, e.svc)
		for e.checkpoint() < n {
			time.Sleep(5 * time.Millisecond)
		}
		el := time.Since(start)
		b.StopTimer()
		stop()
		b.ReportMetric(float64(n)/el.Seconds(), "mails/s")
	}
}

// stamp records when each mail's transcript entry was written.
type stamp struct {
	mu sync.Mutex
	at map[string]time.Time
}

func (s *stamp) Notify(_ context.Context, _ string, e conversation.Entry) {
	if e.Type != conversation.EntryCustomer {
		return
	}
	s.mu.Lock()
	s.at[e.ProviderID] = time.Now()
	s.mu.Unlock()
}

func (s *stamp) get(id string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.at[id]
	return t, ok
}

// BenchmarkIdleLatency: a gateway idles on the mailbox; one mail at a time
// is delivered (IMAP APPEND, as an MTA's delivery agent would) and the time
// from the APPEND's completion to the mail's transcript entry is measured.
// Reports p50 and p99 over 200 mails.
func BenchmarkIdleLatency(b *testing.B) {
	const n = 200
	for range b.N {
		b.StopTimer()
		e := newEnv(b, func(c *Config) { f := false; c.AutoAck = &f; c.Mailboxes[0].IMAP.PollInterval = 5 * time.Minute })
		st := &stamp{at: map[string]time.Time{}}
		// A gateway whose service tells st about every stored message.
		ls := &lateSender{}
		svc, err := conversation.New(conversation.Params{Redis: e.rdb, Workspace: e.ws, Router: &router{}, Notifier: st,
			Senders: map[channel.Name]conversation.Sender{"email": ls}, AttachmentDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		ch, err := New(e.cfg, Deps{Core: &core{Service: svc}, Redis: e.rdb, Workspace: e.ws, Attachments: svc})
		if err != nil {
			b.Fatal(err)
		}
		ls.ch = ch
		run(b, ch, svc)
		for ch.Status(supportAddr) != "idle" {
			time.Sleep(10 * time.Millisecond)
		}
		cl, err := e.dove.Dial(supportUser)
		if err != nil {
			b.Fatal(err)
		}
		var lat []time.Duration
		b.StartTimer()
		for i := range n {
			id := fmt.Sprintf("idle-%d@example.com", i)
			m := rawMail([][2]string{{"From", fmt.Sprintf("p%d@example.com", i)}, {"To", supportAddr}, {"Subject", "hi"},
				{"Message-ID", "<" + id + ">"}}, "hello")
			cmd := cl.Append("INBOX", int64(len(m)), nil)
			if _, err := cmd.Write(m); err != nil {
				b.Fatal(err)
			}
			if err := cmd.Close(); err != nil {
				b.Fatal(err)
			}
			if _, err := cmd.Wait(); err != nil {
				b.Fatal(err)
			}
			sent := time.Now()
			deadline := sent.Add(10 * time.Second)
			for {
				if at, ok := st.get(id); ok {
					lat = append(lat, at.Sub(sent))
					break
				}
				if time.Now().After(deadline) {
					b.Fatalf("mail %d not stored within 10s", i)
				}
				time.Sleep(200 * time.Microsecond)
			}
		}
		b.StopTimer()
		_ = cl.Close()
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	}
}
