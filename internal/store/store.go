// Package store opens the Redis connection every other package shares: a
// real Redis from REDIS_URL (single node, Sentinel or Cluster), or an
// embedded in-process Redis-compatible server when no URL is given, so one
// command runs the whole product on a laptop. Both paths hand out the same
// go-redis client type, so the rest of the code cannot tell them apart.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Store is an open Redis connection.
type Store struct {
	Client redis.UniversalClient
	// Embedded is set when the data lives in this process only.
	Embedded bool
	// CallSites counts Client's round trips by call site on demand, for
	// the debug listener.
	CallSites *CallSites

	mini *miniredis.Miniredis
}

// Options configure Open.
type Options struct {
	// URL is REDIS_URL. Empty starts the embedded store. A master_name query
	// parameter selects Sentinel; extra addr parameters (or cluster=true)
	// select Redis Cluster; otherwise a single node.
	URL    string
	Logger *slog.Logger
	// Registerer receives the Redis command latency histogram; nil skips it.
	Registerer prometheus.Registerer
}

// Open connects to Redis. It does not wait for Redis to answer: a gateway
// starts, reports not-ready and keeps retrying, rather than exiting, when
// Redis is down.
func Open(opts Options) (*Store, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	routeRedisLog(log)
	s := &Store{}
	if opts.URL == "" {
		m := miniredis.NewMiniRedis()
		if err := m.StartAddr("127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("store: start embedded store: %w", err)
		}
		s.mini, s.Embedded = m, true
		s.Client = redis.NewClient(&redis.Options{Addr: m.Addr()})
		log.Warn("EMBEDDED STORE: no REDIS_URL given, so all state lives in this process and NOTHING SURVIVES A RESTART; " +
			"for anything but a trial set REDIS_URL=redis://host:6379/0 to use a real Redis")
	} else {
		c, err := newClient(opts.URL)
		if err != nil {
			return nil, err
		}
		s.Client = c
	}
	s.CallSites = &CallSites{}
	s.Client.AddHook(s.CallSites)
	if opts.Registerer != nil {
		h := newLatencyHook()
		if err := opts.Registerer.Register(h.hist); err != nil {
			return nil, fmt.Errorf("store: register metrics: %w", err)
		}
		s.Client.AddHook(h)
	}
	return s, nil
}

// newClient builds a single-node, Sentinel or Cluster client from the URL.
// Errors never include the URL, which may carry a password.
func newClient(raw string) (redis.UniversalClient, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("store: REDIS_URL is not a valid URL")
	}
	q := u.Query()
	switch {
	case q.Get("master_name") != "":
		o, err := redis.ParseFailoverURL(raw)
		if err != nil {
			return nil, fmt.Errorf("store: REDIS_URL (sentinel): %w", redact(err, raw))
		}
		return redis.NewFailoverClient(o), nil
	case q.Has("addr") || q.Get("cluster") == "true":
		q.Del("cluster")
		u.RawQuery = q.Encode()
		o, err := redis.ParseClusterURL(u.String())
		if err != nil {
			return nil, fmt.Errorf("store: REDIS_URL (cluster): %w", redact(err, raw))
		}
		c := redis.NewClusterClient(o)
		c.AddHook(newSlotRetryHook())
		return c, nil
	default:
		o, err := redis.ParseURL(raw)
		if err != nil {
			return nil, fmt.Errorf("store: REDIS_URL: %w", redact(err, raw))
		}
		return redis.NewClient(o), nil
	}
}

// redact drops the password from a parse error that quotes the URL.
func redact(err error, raw string) error {
	u, perr := url.Parse(raw)
	if perr != nil || u.User == nil {
		return err
	}
	msg := err.Error()
	if pw, ok := u.User.Password(); ok && pw != "" {
		msg = strings.ReplaceAll(msg, pw, "REDACTED")
	}
	return errors.New(msg)
}

// Ping checks that Redis answers within the context's deadline.
func (s *Store) Ping(ctx context.Context) error {
	return s.Client.Ping(ctx).Err()
}

// Close closes the client and stops the embedded server, if any.
func (s *Store) Close() error {
	err := s.Client.Close()
	if s.mini != nil {
		s.mini.Close()
	}
	return err
}

// latencyHook times every command and pipeline for /metrics.
type latencyHook struct {
	hist *prometheus.HistogramVec
	// byName caches each command name's histogram (command name ->
	// prometheus.Observer): every Redis call passes here, and looking the
	// label up each time (lower-casing, hashing) showed in the profile.
	byName sync.Map
}

func newLatencyHook() *latencyHook {
	return &latencyHook{hist: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "switchboard_redis_command_duration_seconds",
		Help:    "Latency of Redis commands and pipelines, by command name.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
	}, []string{"command"})}
}

func (h *latencyHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *latencyHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		h.observer(cmd.Name()).Observe(time.Since(start).Seconds())
		return err
	}
}

func (h *latencyHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		h.observer("pipeline").Observe(time.Since(start).Seconds())
		return err
	}
}

func (h *latencyHook) observer(name string) prometheus.Observer {
	if o, ok := h.byName.Load(name); ok {
		return o.(prometheus.Observer)
	}
	o := h.hist.WithLabelValues(commandLabel(name))
	h.byName.Store(name, o)
	return o
}

// commandLabel keeps the label set small: command names only, never keys.
func commandLabel(name string) string {
	name = strings.ToLower(name)
	if len(name) > 32 {
		name = name[:32]
	}
	return name
}

var _ redis.Hook = (*latencyHook)(nil)
