package store

import (
	"context"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/redistest"
)

// peeked reports whether a health check's read of c's socket ran.
func peeked(t *testing.T, c net.Conn) bool {
	t.Helper()
	sc, ok := c.(syscall.Conn)
	if !ok {
		t.Fatal("a plain TCP connection should still offer its socket")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	ran := false
	if err := raw.Read(func(uintptr) bool { ran = true; return true }); err != nil {
		t.Fatal(err)
	}
	return ran
}

func TestABusyConnectionSkipsTheIdleCheck(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			defer c.Close()
			var b [64]byte
			for {
				if _, err := c.Read(b[:]); err != nil {
					return
				}
			}
		}
	}()
	c, err := dialer(time.Second, nil)(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !peeked(t, c) {
		t.Error("a connection that never sent anything was not checked")
	}
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		t.Fatal(err)
	}
	if peeked(t, c) {
		t.Error("a connection that just sent a command was checked")
	}
	c.(*idleCheckedConn).lastWrite.Add(-int64(2 * recentUse))
	if !peeked(t, c) {
		t.Error("a connection idle for longer than recentUse was not checked")
	}
}

// A connection Redis dropped while it sat idle is still found before a
// command goes out on it. Batched script calls refuse go-redis's retries
// (sentOnce), so a dead connection handed to one would fail it; the
// client here retries nothing, to see every command's first try.
func TestAnIdleConnectionRedisDroppedIsNotHandedOut(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.Options{})
	s, err := Open(Options{URL: srv.URL() + "?max_retries=-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	script := redis.NewScript(`return 1`)
	b := NewBatcher(s.Client)
	if err := script.Run(ctx, b, nil).Err(); err != nil {
		t.Fatal(err)
	}
	if n := s.Client.PoolStats().TotalConns; n != 1 {
		t.Fatalf("%d pooled connections, want 1", n)
	}
	admin := srv.NewClient(t)
	if n, err := admin.ClientKillByFilter(ctx, "SKIPME", "yes").Result(); err != nil || n == 0 {
		t.Fatalf("kill the pooled connections: %d %v", n, err)
	}
	time.Sleep(recentUse + 50*time.Millisecond)
	if err := script.Run(ctx, b, nil).Err(); err != nil {
		t.Fatalf("a call after Redis dropped the idle connection: %v", err)
	}
}

// BenchmarkRoundTrip is one GET after another from 8 goroutines: over
// loopback TCP on a client whose pool checks every connection it hands
// out (go-redis's own dialer), over TCP and over the Unix socket with
// dialer, which checks only idle ones. It reports the whole process's CPU
// per command beside the time.
func BenchmarkRoundTrip(b *testing.B) {
	srv := redistest.Start(b, redistest.Options{UnixSocket: true})
	for _, tc := range []struct {
		name, network, addr string
		dialer              func(context.Context, string, string) (net.Conn, error)
	}{
		{"tcp-check-every-get", "tcp", srv.Addr, nil},
		{"tcp", "tcp", srv.Addr, dialer(0, nil)},
		{"unix", "unix", srv.SocketURL()[len("unix://"):], dialer(0, nil)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c := redis.NewClient(&redis.Options{Network: tc.network, Addr: tc.addr, Dialer: tc.dialer})
			defer c.Close()
			ctx := context.Background()
			if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
				b.Fatal(err)
			}
			b.SetParallelism(4) // 4 × GOMAXPROCS goroutines
			before := cpuTime(b)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := c.Get(ctx, "k").Err(); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64((cpuTime(b)-before).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
