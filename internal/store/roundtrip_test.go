package store

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/cputime"
	"github.com/switchboard/switchboard/internal/redistest"
)

// BenchmarkRoundTrip is one GET after another from 8 goroutines, over
// loopback TCP and over the server's Unix socket. It reports the whole
// process's CPU per command beside the time.
func BenchmarkRoundTrip(b *testing.B) {
	srv := redistest.Start(b, redistest.Options{UnixSocket: true})
	for _, tc := range []struct{ name, network, addr string }{
		{"tcp", "tcp", srv.Addr},
		{"unix", "unix", srv.Socket()},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c := redis.NewClient(&redis.Options{Network: tc.network, Addr: tc.addr})
			defer c.Close()
			ctx := context.Background()
			if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
				b.Fatal(err)
			}
			b.SetParallelism(4) // 4 × GOMAXPROCS goroutines
			before := cputime.Self()
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
			b.ReportMetric(float64((cputime.Self()-before).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}
