package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/redistest"
	"github.com/switchboard/switchboard/internal/twilioapi"
	"github.com/switchboard/switchboard/internal/twilioapi/twiliotest"
)

// longSMS is a gateway holding one SMS conversation of n entries of size
// bytes each, accepted by agent ana, whose console is console.
type longSMS struct {
	console *liveClient
	conv    string
}

func newLongSMS(t *testing.T, n, size int) longSMS {
	t.Helper()
	srv := redistest.Start(t, redistest.Options{})
	creds := twiliotest.Credentials()
	fake := twiliotest.New(t, creds)
	base := start(t, map[string]string{
		"REDIS_URL": srv.URL(), "SWITCHBOARD_PUBLIC_URL": publicURL,
		"TWILIO_ACCOUNT_SID": creds.AccountSID, "TWILIO_AUTH_TOKEN": creds.AuthToken, "TWILIO_API_BASE_URL": fake.URL,
		"SWITCHBOARD_ADMIN_PASSWORD": "admin-password-1",
	})
	authSvc, err := auth.New(auth.Config{Redis: srv.NewClient(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := authSvc.CreateAccount(context.Background(), auth.Account{ID: "ana", Name: "Ana Lima", Role: auth.RoleAgent}, "ana-password-1"); err != nil {
		t.Fatal(err)
	}
	ana := dialLive(t, base, "/agent/ws", login(t, base, "ana", "ana-password-1"))
	ana.ack(ana.send("state", map[string]any{"state": "available"}))
	line := strings.Repeat("Mitt paket kom aldrig fram, ring mig. ", size/38+1)[:size]
	post := func(i int) {
		form := twiliotest.InboundSMS(creds.AccountSID, "+46701234567", "+15550001111", fmt.Sprintf("%04d %s", i, line[5:]))
		form.Set("MessageSid", fmt.Sprintf("SM%032x", i+1))
		req, _ := http.NewRequest(http.MethodPost, base+"/twilio/sms", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", twilioapi.Sign(creds.AuthToken, publicURL+"/twilio/sms", form))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("webhook %d: %d", i, resp.StatusCode)
		}
	}
	post(0)
	conv := ana.next("offer", ofType("offer"))["offer"].(map[string]any)["conv"].(string)
	ana.ack(ana.send("accept", map[string]any{"conv": conv}))
	var wg sync.WaitGroup
	work := make(chan int)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				post(i)
			}
		}()
	}
	for i := 1; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	// The console heard every line live; forget them, as a fresh page would.
	ana.pending = nil
	for len(ana.frames) > 0 {
		<-ana.frames
	}
	return longSMS{console: ana, conv: conv}
}

// resumeAll reads the whole transcript page by page, as the console does,
// and returns the long lines it got and the pages it took.
func (l longSMS) resumeAll(t *testing.T, size int) (lines, pages int) {
	t.Helper()
	after := ""
	for {
		id := l.console.send("resume", map[string]any{"conv": l.conv, "after_id": after})
		ack := l.console.next("ack "+id, func(f map[string]any) bool { return f["type"] == "ack" && f["id"] == id })
		if ack["code"] == "rate_limited" {
			// 20 frames a second, as the console would: wait and ask again.
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if ack["ok"] != true {
			t.Fatalf("resume refused: %v", ack)
		}
		pages++
		data := ack["data"].(map[string]any)
		for _, m := range data["messages"].([]any) {
			if text, _ := m.(map[string]any)["text"].(string); len(text) == size {
				lines++
			}
		}
		if data["more"] != true {
			return lines, pages
		}
		after = data["next"].(string)
	}
}

// heapPeak samples the live heap objects every millisecond until stop is
// called, which returns the highest value seen.
func heapPeak() (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 { close(done); <-finished; return peak }
}

func rssKB() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			var kb int
			fmt.Sscan(rest, &kb)
			return kb
		}
	}
	return 0
}

// TestLongSMSResumeMemoryBounded resumes an SMS conversation of 600
// entries of 60 KB (36 MB of text) five times through the agent's console
// and bounds the heap a resume needs: pages are read 16 entries at a time,
// so the gateway never holds the transcript whole. With the collector
// made eager (GOGC 10) the heap's peak follows what is live. Before
// paging, one resume held the whole transcript several times over (and its
// frame closed the socket). docs/benchmarks.md records the figures.
func TestLongSMSResumeMemoryBounded(t *testing.T) {
	const n, size = 600, 60_000
	l := newLongSMS(t, n, size)
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	base := heapPeak()()
	rss0 := rssKB()
	var worst uint64
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	for i := range 5 {
		stop := heapPeak()
		lines, pages := l.resumeAll(t, size)
		peak := stop()
		if lines != n {
			t.Fatalf("resume %d: %d of %d lines in %d pages", i, lines, n, pages)
		}
		grew := peak - min(peak, base)
		worst = max(worst, grew)
		t.Logf("resume %d: %d pages, heap peak %.1f MB above the %.1f MB before", i, pages, float64(grew)/1e6, float64(base)/1e6)
	}
	runtime.ReadMemStats(&ms1)
	t.Logf("5 resumes of %d × %d B: worst heap peak +%.1f MB, allocated %.0f MB per resume, RSS %d → %d MB",
		n, size, float64(worst)/1e6, float64(ms1.TotalAlloc-ms0.TotalAlloc)/5e6, rss0/1024, rssKB()/1024)
	if worst > 32<<20 {
		t.Fatalf("a resume raised the heap by %.1f MB; the transcript is %d MB: it is being held whole", float64(worst)/1e6, n*size/1_000_000)
	}
}
