package voice

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/twilioapi"
	"github.com/switchboard/switchboard/internal/twilioapi/twiliotest"
)

// p reports the q-quantile of ds in milliseconds.
func p(ds []time.Duration, q float64) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	return float64(s[int(float64(len(s)-1)*q)]) / float64(time.Millisecond)
}

// BenchmarkWebhookAt100PerSecond sends b.N calls at 100 per second over
// loopback HTTP to the channel (real Redis, signature checks, the fake
// core in memory): each call's incoming webhook, then its first wait URL.
// It reports the answer time of both at p50 and p99. Run it bounded:
//
//	go test -run '^$' -bench WebhookAt100 -benchtime 500x ./channels/voice/
func BenchmarkWebhookAt100PerSecond(b *testing.B) {
	h := newHarnessTB(b, nil)
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	client := srv.Client()
	post := func(path string, form url.Values) time.Duration {
		body := form.Encode()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(twilioapi.SignatureHeader, h.fake.Sign(publicURL+path, form))
		start := time.Now()
		res, err := client.Do(req)
		d := time.Since(start)
		if err != nil || res.StatusCode != http.StatusOK {
			b.Fatalf("POST %s: %v %v", path, err, res)
		}
		_ = res.Body.Close()
		return d
	}
	qsid := twiliotest.NewQueueSid()
	var incoming, wait []time.Duration
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	b.ResetTimer()
	for range b.N {
		<-tick.C
		form := twiliotest.InboundCall(h.creds.AccountSID, caller, ourNumber)
		incoming = append(incoming, post(InboundPath, form))
		wf := with(twiliotest.CallForm(h.creds.AccountSID, form.Get("CallSid"), caller, ourNumber, "in-progress"),
			"QueueSid", qsid, "QueuePosition", "1", "QueueTime", "1")
		wait = append(wait, post(WaitPath, wf))
	}
	b.StopTimer()
	b.ReportMetric(p(incoming, 0.5), "incoming-p50-ms")
	b.ReportMetric(p(incoming, 0.99), "incoming-p99-ms")
	b.ReportMetric(p(wait, 0.5), "wait-p50-ms")
	b.ReportMetric(p(wait, 0.99), "wait-p99-ms")
}

// BenchmarkAcceptToDequeue measures an accepted call's routing event to
// the dequeue request answered by the Twilio fake over loopback HTTP.
func BenchmarkAcceptToDequeue(b *testing.B) {
	h := newHarnessTB(b, nil)
	qsid := twiliotest.NewQueueSid()
	convs := make([]string, b.N)
	for i := range b.N {
		form := twiliotest.InboundCall(h.creds.AccountSID, caller, ourNumber)
		if w := h.post(InboundPath, form); w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
		sid := form.Get("CallSid")
		h.post(WaitPath, with(twiliotest.CallForm(h.creds.AccountSID, sid, caller, ourNumber, "in-progress"), "QueueSid", qsid))
		cs, _, _ := h.ch.calls.get(h.ctx, sid)
		convs[i] = cs.Conv
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for _, conv := range convs {
		ev := h.core.accept(conv, "ana")
		start := time.Now()
		if err := h.ch.Observe(h.ctx, ev); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	if n := len(h.fake.MemberUpdates()); n != b.N {
		b.Fatalf("%d dequeues for %d accepts", n, b.N)
	}
	b.ReportMetric(p(lat, 0.5), "p50-ms")
	b.ReportMetric(p(lat, 0.99), "p99-ms")
}
