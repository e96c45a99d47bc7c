package store

import (
	"context"
	"crypto/tls"
	"net"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// recentUse is how long after a command a pooled connection counts as
// known alive. go-redis peeks at a plain TCP connection's socket (a
// recvfrom system call) every time it takes one from its pool, to find
// connections Redis closed while they sat idle. Under load that was one
// system call per command, about a fifth of the gateway's Redis system
// calls and 4% of its CPU at SMS 400/s (docs/benchmarks.md). A connection
// that sent a command this recently is busy, not idle: a Redis that went
// away since then fails its commands however they are checked.
const recentUse = 100 * time.Millisecond

// dialer opens Redis connections that go-redis health-checks only when
// they have been idle for recentUse. TLS connections are returned as
// they are: go-redis never checks those.
func dialer(timeout time.Duration, tlsConfig *tls.Config) func(context.Context, string, string) (net.Conn, error) {
	if timeout == 0 {
		timeout = 5 * time.Second // go-redis's own default
	}
	dial := redis.NewDialer(&redis.Options{DialTimeout: timeout, TLSConfig: tlsConfig})
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		sc, ok := c.(syscall.Conn)
		if !ok {
			return c, nil
		}
		return &idleCheckedConn{Conn: c, sc: sc}, nil
	}
}

// idleCheckedConn is a connection that notes when it last sent a command,
// and lets go-redis's health check (the only caller of SyscallConn on a
// pooled connection) see its socket only when that was long enough ago.
type idleCheckedConn struct {
	net.Conn
	sc        syscall.Conn
	lastWrite atomic.Int64 // unix nanoseconds
}

func (c *idleCheckedConn) Write(b []byte) (int, error) {
	c.lastWrite.Store(time.Now().UnixNano())
	return c.Conn.Write(b)
}

// SyscallConn is the socket's, except that a read of it reports nothing
// waiting, without a system call, while the connection is in use.
func (c *idleCheckedConn) SyscallConn() (syscall.RawConn, error) {
	raw, err := c.sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	return busyRaw{RawConn: raw, c: c}, nil
}

type busyRaw struct {
	syscall.RawConn
	c *idleCheckedConn
}

func (r busyRaw) Read(f func(fd uintptr) bool) error {
	if time.Now().UnixNano()-r.c.lastWrite.Load() < int64(recentUse) {
		return nil
	}
	return r.RawConn.Read(f)
}
