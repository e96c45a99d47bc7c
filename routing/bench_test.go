package routing

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	evalshaStat = regexp.MustCompile(`cmdstat_evalsha:calls=(\d+),usec=(\d+)`)
	allStats    = regexp.MustCompile(`cmdstat_([a-z|]+):calls=(\d+)`)
	cpuStat     = regexp.MustCompile(`used_cpu_(?:sys|user):([0-9.]+)`)
)

// redisCPU is the server's CPU time so far, in µs. Unlike wall time it does
// not grow when other processes crowd the machine.
func redisCPU(b *testing.B, e *Engine) float64 {
	b.Helper()
	info, err := e.c.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var sum float64
	for _, m := range cpuStat.FindAllStringSubmatch(info, 2) {
		f, _ := strconv.ParseFloat(m[1], 64)
		sum += f
	}
	return sum * 1e6
}

// reportScriptTime adds what the work cost Redis: CPU per operation (all
// commands, network handling included) and time per script call (from INFO
// commandstats, which resetStats cleared).
func reportScriptTime(b *testing.B, e *Engine, cpu0 float64) {
	b.Helper()
	b.ReportMetric((redisCPU(b, e)-cpu0)/float64(b.N), "redis-cpu-µs/op")
	info, err := e.c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	// Commands run inside scripts count in commandstats too: calls per
	// operation is a measure of the Lua's work that load cannot blur.
	var inner float64
	for _, m := range allStats.FindAllStringSubmatch(info, -1) {
		if m[1] != "evalsha" && m[1] != "info" && m[1] != "config|resetstat" {
			n, _ := strconv.ParseFloat(m[2], 64)
			inner += n
		}
	}
	b.ReportMetric(inner/float64(b.N), "redis-calls/op")
	m := evalshaStat.FindStringSubmatch(info)
	if m == nil {
		return
	}
	calls, _ := strconv.ParseFloat(m[1], 64)
	usec, _ := strconv.ParseFloat(m[2], 64)
	b.ReportMetric(usec/calls, "redis-µs/script")
}

func resetStats(b *testing.B, e *Engine) float64 {
	b.Helper()
	if err := e.c.ConfigResetStat(context.Background()).Err(); err != nil {
		b.Fatal(err)
	}
	return redisCPU(b, e)
}

// benchEngine is an engine with n available agents on the shared server.
func benchEngine(b *testing.B, n int) *Engine { return benchEngineWith(b, n, false) }

// benchEngineWith is benchEngine, with one connection per script call if
// direct (Params.DirectCalls).
func benchEngineWith(b *testing.B, n int, direct bool) *Engine {
	b.Helper()
	e, err := New(Params{Client: shared.Connect(b), Workspace: workspace(b), DirectCalls: direct})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := e.Prepare(ctx); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		id := fmt.Sprintf("a%d", i)
		if err := e.UpsertAgent(ctx, AgentConfig{ID: id}); err != nil {
			b.Fatal(err)
		}
		if err := e.SetAgentState(ctx, id, StateAvailable, ""); err != nil {
			b.Fatal(err)
		}
	}
	return e
}

// BenchmarkEnqueueOffer is one routing decision: enqueue, match and offer in
// one script call, with 200 agents available.
func BenchmarkEnqueueOffer(b *testing.B) {
	e := benchEngine(b, 200)
	ctx := context.Background()
	// 200 agents × 3 chats: recycle the slots by closing every conversation.
	cpu0 := resetStats(b, e)
	b.ResetTimer()
	for i := range b.N {
		id := fmt.Sprintf("c%d", i)
		if err := e.Enqueue(ctx, Request{ConversationID: id, Channel: chChat}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		c, err := e.Conversation(ctx, id)
		if err != nil || c.State != ConvOffered {
			b.Fatalf("%s: %+v %v", id, c, err)
		}
		if err := e.Accept(ctx, id, c.AgentID); err != nil {
			b.Fatal(err)
		}
		if err := e.Close(ctx, id, c.AgentID); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	reportScriptTime(b, e, cpu0)
}

// BenchmarkLifecycle is a conversation's whole routing life: enqueue (with
// offer), accept and close (which refills the slot): three round trips.
func BenchmarkLifecycle(b *testing.B) { benchLifecycle(b, false) }

// BenchmarkLifecycleDirect is BenchmarkLifecycle with one connection per
// script call instead of the autopipeliner: what one caller pays for it.
func BenchmarkLifecycleDirect(b *testing.B) { benchLifecycle(b, true) }

func benchLifecycle(b *testing.B, direct bool) {
	e := benchEngineWith(b, 200, direct)
	ctx := context.Background()
	cpu0 := resetStats(b, e)
	b.ResetTimer()
	for i := range b.N {
		id := fmt.Sprintf("c%d", i)
		if err := e.Enqueue(ctx, Request{ConversationID: id, Channel: chChat}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		c, _ := e.Conversation(ctx, id)
		b.StartTimer()
		if err := e.Accept(ctx, id, c.AgentID); err != nil {
			b.Fatal(err)
		}
		if err := e.Close(ctx, id, c.AgentID); err != nil {
			b.Fatal(err)
		}
	}
	reportScriptTime(b, e, cpu0)
}

// BenchmarkEnqueueBacklog enqueues with every agent busy: the script only
// queues (and finds nobody free).
func BenchmarkEnqueueBacklog(b *testing.B) {
	e := benchEngine(b, 0)
	ctx := context.Background()
	cpu0 := resetStats(b, e)
	b.ResetTimer()
	for i := range b.N {
		if err := e.Enqueue(ctx, Request{ConversationID: fmt.Sprintf("c%d", i), Channel: chChat}); err != nil {
			b.Fatal(err)
		}
	}
	reportScriptTime(b, e, cpu0)
}

// BenchmarkConsume is the event consumer's own cost per event: b.N
// events already in the stream (copies of real ones: an agent's state
// change, a conversation queued and abandoned, spread over 1,000
// conversations) are read in batches, partitioned, handed to a handler
// that does nothing and acknowledged. allocs/op is the consumer's
// allocations per event; redis-calls/op its Redis commands per event.
func BenchmarkConsume(b *testing.B) {
	e := benchEngine(b, 1)
	ctx := context.Background()
	if err := e.Enqueue(ctx, Request{ConversationID: "sample", Channel: chChat}); err != nil {
		b.Fatal(err)
	}
	if err := e.Abandon(ctx, "sample", CauseCustomer); err != nil {
		b.Fatal(err)
	}
	samples, err := e.c.XRange(ctx, e.k.events(), "-", "+").Result()
	if err != nil || len(samples) < 3 {
		b.Fatalf("sample events: %v, %v", samples, err)
	}
	stream := e.k.events()
	if err := e.c.Del(ctx, stream).Err(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.c.Del(context.Background(), stream) })
	for i := 0; i < b.N; i += 1000 {
		pipe := e.c.Pipeline()
		for j := i; j < min(i+1000, b.N); j++ {
			v := maps.Clone(samples[j%len(samples)].Values)
			if _, ok := v["conv"]; ok {
				v["conv"] = fmt.Sprintf("c%d", j%1000)
			}
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: v})
		}
		if _, err := pipe.Exec(ctx); err != nil {
			b.Fatal(err)
		}
	}
	// The group starts at the stream's beginning; Consume finds it there.
	if err := e.c.XGroupCreate(ctx, stream, "bench", "0").Err(); err != nil {
		b.Fatal(err)
	}
	var handled atomic.Int64
	all := make(chan struct{})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	cpu0 := resetStats(b, e)
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		done <- e.Consume(runCtx, ConsumeParams{Group: "bench", Consumer: "c1", ClaimAfter: time.Hour,
			Handle: func(context.Context, Event) error {
				if handled.Add(1) == int64(b.N) {
					close(all)
				}
				return nil
			}})
	}()
	<-all
	b.StopTimer()
	// Every event handled is acknowledged once the consumer stops (a
	// blocked read returns within its second: not part of the figure).
	stop()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	reportScriptTime(b, e, cpu0)
	p, err := e.c.XPending(ctx, stream, "bench").Result()
	if err != nil || p.Count != 0 {
		b.Fatalf("pending after the run: %+v, %v", p, err)
	}
}
