package realtime

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults applied to zero fields of Config.
const (
	DefaultMaxQueueBytes       = 1 << 20
	DefaultReadLimit           = 64 << 10
	DefaultWriteTimeout        = 10 * time.Second
	DefaultPingInterval        = 20 * time.Second
	DefaultPongWait            = 45 * time.Second
	DefaultSubscribeTimeout    = 5 * time.Second
	DefaultMaxPendingPublishes = 4096
	DefaultMaxHandling         = 256
	DefaultWorkspace           = "default"
)

// Config configures a Hub. Every zero field takes the default named in its
// comment.
type Config struct {
	// Redis carries publishes between gateways. Nil runs the hub alone:
	// Publish reaches only this process's subscribers, which is what a
	// single-process setup and protocol unit tests want.
	Redis redis.UniversalClient
	// Workspace is the hash tag of the Redis channel names,
	// sb:{<Workspace>}:rt:<topic>. Zero: "default".
	Workspace string
	// PublicURL is the gateway's public base URL (https://support.example.com).
	// A page on the gateway's own host may open a socket only with the
	// scheme this URL gives that host, so a page served over plain http
	// (injected by someone on the network) cannot open the https console's
	// socket with its cookie. Zero: the request's own scheme (TLS or not).
	PublicURL string
	// MaxQueueBytes caps the bytes queued for one connection, counting the
	// message being written. A Send that would pass it closes the connection
	// with CloseSlowConsumer. Zero: 1 MiB.
	MaxQueueBytes int
	// ReadLimit is the largest frame a client may send, in bytes; a larger
	// one closes the connection with 1009. Zero: 64 KiB.
	ReadLimit int64
	// WriteTimeout bounds the write of one frame to the socket. A client
	// that does not take a frame within it is dropped. Zero: 10 s.
	WriteTimeout time.Duration
	// PingInterval is how often the writer pings an idle or busy client.
	// Zero: 20 s.
	PingInterval time.Duration
	// PongWait is how long the reader waits for any frame (a pong counts)
	// before it gives the client up. It must exceed PingInterval. Zero: 45 s.
	PongWait time.Duration
	// SubscribeTimeout bounds the wait for Redis to confirm a new channel
	// subscription when the caller's context has no earlier deadline.
	// Zero: 5 s.
	SubscribeTimeout time.Duration
	// MaxPendingPublishes caps the publishes (and Leaves) queued for or in
	// flight to Redis. Concurrent publishes share round trips; past the cap a
	// Publish waits for room within its context, so a Redis that slows
	// down holds back publishers instead of growing memory. Zero: 4096.
	MaxPendingPublishes int
	// MaxHandling caps how many messages of crowd connections
	// (ConnOptions.Crowd: chat visitors) are handled at once. A burst of
	// visitors all saying hello queues behind Redis either way; past the
	// cap the rest wait in their readers, whose stacks are small, instead
	// of as thousands of handlers each deep in a Redis call with its stack
	// and buffers. Zero: 256.
	MaxHandling int
	// MaxConns is how many connections the gateway holds before Admit
	// refuses new ones (existing ones are never closed for it). Zero: no
	// limit.
	MaxConns int
	// MaxMemoryBytes is the Go heap size above which Admit refuses new
	// connections, so a burst of visitors cannot push the gateway out of
	// memory. Zero: no limit.
	MaxMemoryBytes uint64
	// Logger receives connection and Redis errors. Nil discards them.
	Logger *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	if c.Workspace == "" {
		c.Workspace = DefaultWorkspace
	}
	if strings.ContainsAny(c.Workspace, "{}") {
		return c, fmt.Errorf("realtime: workspace %q must not contain braces", c.Workspace)
	}
	if c.MaxQueueBytes <= 0 {
		c.MaxQueueBytes = DefaultMaxQueueBytes
	}
	if c.ReadLimit <= 0 {
		c.ReadLimit = DefaultReadLimit
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.PingInterval <= 0 {
		c.PingInterval = DefaultPingInterval
	}
	if c.PongWait <= 0 {
		c.PongWait = DefaultPongWait
	}
	if c.PongWait <= c.PingInterval {
		return c, fmt.Errorf("realtime: PongWait %s must exceed PingInterval %s", c.PongWait, c.PingInterval)
	}
	if c.SubscribeTimeout <= 0 {
		c.SubscribeTimeout = DefaultSubscribeTimeout
	}
	if c.MaxPendingPublishes <= 0 {
		c.MaxPendingPublishes = DefaultMaxPendingPublishes
	}
	if c.MaxHandling <= 0 {
		c.MaxHandling = DefaultMaxHandling
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c, nil
}
