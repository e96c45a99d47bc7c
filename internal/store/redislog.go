package store

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"
)

// redisLog routes go-redis's own messages (failed dials, sentinel
// failovers, pub/sub reconnects) into the gateway's structured log; left
// alone, go-redis prints plain text lines to stderr among the JSON ones.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, "redis client", "detail", fmt.Sprintf(format, v...))
}

// routeRedisLog installs l as go-redis's logger. go-redis keeps one logger
// per process, not per client; a process opens one store, so this is the
// store's logger in effect.
func routeRedisLog(l *slog.Logger) { redis.SetLogger(redisLog{log: l}) }
