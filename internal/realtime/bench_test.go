package realtime

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchboard/switchboard/internal/cputime"
	"github.com/switchboard/switchboard/internal/redistest"
)

// benchDialer keeps the client end small, so the memory figures are mostly
// the hub's side of each connection.
var benchDialer = websocket.Dialer{ReadBufferSize: 256, WriteBufferSize: 256, WriteBufferPool: &sync.Pool{}}

// BenchmarkConnections opens b.N websocket connections, each subscribed to
// its own topic, and reports the heap and goroutines they hold. Run with
// -benchtime=2000x to measure 2,000 connections; both ends live in this
// process, so heap-B/conn includes the small client end too.
func BenchmarkConnections(b *testing.B) {
	h := newHub(b, Config{})
	_, url := serve(b, h, UpgradeOptions{})
	// Both ends of every connection are file descriptors of this process:
	// hold at most maxHeld at once, measured; dial the rest and close them
	// again, so a long -benchtime does not run out of descriptors.
	const maxHeld = 4000
	held := min(b.N, maxHeld)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	goroutines := runtime.NumGoroutine()
	clients := make([]*websocket.Conn, 0, held)
	b.ResetTimer()
	for i := range b.N {
		ws, _, err := benchDialer.Dial(url, nil)
		if err != nil {
			b.Fatalf("dial %d: %v", i, err)
		}
		if err := ws.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, "sub visitor:%d", i)); err != nil {
			b.Fatal(err)
		}
		if _, _, err := ws.ReadMessage(); err != nil {
			b.Fatal(err)
		}
		if len(clients) < held {
			clients = append(clients, ws)
		} else {
			_ = ws.Close()
		}
	}
	b.StopTimer()
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/float64(held), "heap-B/conn")
	b.ReportMetric(float64(runtime.NumGoroutine()-goroutines)/float64(held), "goroutines/conn")
	b.ReportMetric(float64(after.StackInuse-before.StackInuse)/float64(held), "stack-B/conn")
	for _, ws := range clients {
		_ = ws.Close()
	}
}

// BenchmarkFanout publishes b.N messages of 256 bytes to one topic with
// 100 websocket subscribers on the same hub and reports deliveries per
// second, counted when every subscriber has read every message.
func BenchmarkFanout(b *testing.B) {
	h := newHub(b, Config{MaxQueueBytes: 16 << 20})
	benchFanout(b, h, h)
}

// BenchmarkFanoutAcrossGateways is BenchmarkFanout with the publisher on
// one hub and the subscribers on another, through a real redis-server.
func BenchmarkFanoutAcrossGateways(b *testing.B) {
	s := redistest.Start(b, redistest.Options{})
	pub := newHub(b, Config{Redis: s.NewClient(b), MaxQueueBytes: 16 << 20})
	sub := newHub(b, Config{Redis: s.NewClient(b), MaxQueueBytes: 16 << 20})
	benchFanout(b, pub, sub)
}

func benchFanout(b *testing.B, pub, h *Hub) {
	const subscribers = 100
	_, url := serve(b, h, UpgradeOptions{})
	var wg sync.WaitGroup
	for i := range subscribers {
		ws, _, err := benchDialer.Dial(url, nil)
		if err != nil {
			b.Fatalf("dial %d: %v", i, err)
		}
		b.Cleanup(func() { _ = ws.Close() })
		if err := ws.WriteMessage(websocket.TextMessage, []byte("sub supervisor")); err != nil {
			b.Fatal(err)
		}
		if _, _, err := ws.ReadMessage(); err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < b.N; n++ {
				if _, _, err := ws.ReadMessage(); err != nil {
					b.Errorf("subscriber read %d: %v", n, err)
					return
				}
			}
		}()
	}
	payload := make([]byte, 256)
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if err := pub.Publish(ctx, "supervisor", payload); err != nil {
			b.Fatal(err)
		}
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N*subscribers)/time.Since(start).Seconds(), "deliveries/s")
}

// BenchmarkPublish compares N concurrent publishers (all on one gateway,
// each waiting for its publish before the next, as the desk's and the chat
// channel's callers do) sending 256-byte frames to a real redis-server:
// one-at-a-time is a PUBLISH round trip per call from the client's pool,
// what the hub did before; batched is Hub.Publish, whose writer sends the
// publishes queued meanwhile as one pipeline. It reports publishes/s and
// Redis round trips and this process's CPU time per publish (the
// gateway's side; the redis-server's is not counted). Run with -benchtime=20000x; the figures
// of one run are comparable with each other, not across machines.
func BenchmarkPublish(b *testing.B) {
	s := redistest.Start(b, redistest.Options{})
	payload := bytes.Repeat([]byte("x"), 256)
	for _, n := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("one-at-a-time/publishers=%d", n), func(b *testing.B) {
			client, counter := s.NewClient(b), &commandCounter{}
			client.AddHook(counter)
			msg := make([]byte, 16+len(payload)) // the node id the hub puts first
			benchPublishers(b, n, func(ctx context.Context, topic string) error {
				return client.Publish(ctx, channelPrefix(DefaultWorkspace)+topic, msg).Err()
			})
			b.ReportMetric(float64(counter.single.Load()+counter.pipelines.Load())/float64(b.N), "roundtrips/op")
		})
		b.Run(fmt.Sprintf("batched/publishers=%d", n), func(b *testing.B) {
			client, counter := s.NewClient(b), &commandCounter{}
			client.AddHook(counter)
			h := newHub(b, Config{Redis: client})
			benchPublishers(b, n, func(ctx context.Context, topic string) error {
				return h.Publish(ctx, topic, payload)
			})
			b.ReportMetric(float64(counter.single.Load()+counter.pipelines.Load())/float64(b.N), "roundtrips/op")
		})
	}
}

func benchPublishers(b *testing.B, publishers int, publish func(context.Context, string) error) {
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	cpu := cputime.Self()
	start := time.Now()
	for i := range publishers {
		topic := fmt.Sprintf("agent:%d", i)
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if err := publish(ctx, topic); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "publishes/s")
	b.ReportMetric(float64((cputime.Self()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
}
