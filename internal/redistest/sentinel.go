package redistest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelMaster is the name the test sentinels monitor.
const SentinelMaster = "sb"

// SentinelOptions shape a Sentinel setup. The zero value is one master,
// one replica and three sentinels that call a master down after one
// second.
type SentinelOptions struct {
	// DownAfter is the sentinels' down-after-milliseconds. Zero: 1 s.
	DownAfter time.Duration
	// Replicas is the number of replicas. Zero: 1.
	Replicas int
	// MinReplicasToWrite sets min-replicas-to-write on every data server
	// (any may become master), with min-replicas-max-lag 1 s. Zero: off.
	MinReplicasToWrite int
}

// Sentinel is a master, its replicas and three sentinels, all redis-server
// processes on loopback, owned by a test.
type Sentinel struct {
	// Data holds the master and the replica, in start order; which one is
	// master changes with failovers (see Master).
	Data      []*Server
	Sentinels []*Server
}

// StartSentinel launches the setup for t and stops it when t ends.
func StartSentinel(t testing.TB, opts SentinelOptions) *Sentinel {
	t.Helper()
	s, err := LaunchSentinel(opts, t.TempDir())
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// LaunchSentinel starts the master, the replica and the sentinels, and
// waits until every sentinel knows the replica and the other sentinels.
// The caller must call Stop.
func LaunchSentinel(opts SentinelOptions, dir string) (*Sentinel, error) {
	if opts.DownAfter <= 0 {
		opts.DownAfter = time.Second
	}
	s := &Sentinel{}
	sub := func(name string) (string, error) {
		d := filepath.Join(dir, name)
		return d, os.MkdirAll(d, 0o755)
	}
	d, err := sub("master")
	if err != nil {
		return nil, err
	}
	if opts.Replicas <= 0 {
		opts.Replicas = 1
	}
	var safety []string
	if opts.MinReplicasToWrite > 0 {
		safety = []string{"--min-replicas-to-write", strconv.Itoa(opts.MinReplicasToWrite), "--min-replicas-max-lag", "1"}
	}
	master, err := launch(Options{}, d, safety...)
	if err != nil {
		return nil, err
	}
	s.Data = append(s.Data, master)
	for i := range opts.Replicas {
		if d, err = sub("replica" + strconv.Itoa(i)); err != nil {
			s.Stop()
			return nil, err
		}
		replica, err := launch(Options{}, d, append([]string{"--replicaof", "127.0.0.1", strconv.Itoa(master.Port)}, safety...)...)
		if err != nil {
			s.Stop()
			return nil, err
		}
		s.Data = append(s.Data, replica)
	}
	for i := range 3 {
		d, err := sub("sentinel" + strconv.Itoa(i))
		if err != nil {
			s.Stop()
			return nil, err
		}
		port, err := freePort()
		if err != nil {
			s.Stop()
			return nil, err
		}
		// Sentinels rewrite their config file, so each gets its own.
		conf := strings.Join([]string{
			"port " + strconv.Itoa(port),
			"bind 127.0.0.1",
			"dir " + d,
			"logfile " + filepath.Join(d, "redis.log"),
			fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d 2", SentinelMaster, master.Port),
			fmt.Sprintf("sentinel down-after-milliseconds %s %d", SentinelMaster, opts.DownAfter.Milliseconds()),
			fmt.Sprintf("sentinel failover-timeout %s 10000", SentinelMaster),
			fmt.Sprintf("sentinel parallel-syncs %s 1", SentinelMaster),
		}, "\n") + "\n"
		file := filepath.Join(d, "sentinel.conf")
		if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
			s.Stop()
			return nil, fmt.Errorf("sentinel config: %w", err)
		}
		sn, err := startSentinel(d, file, port)
		if err != nil {
			s.Stop()
			return nil, err
		}
		s.Sentinels = append(s.Sentinels, sn)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.waitSettled(ctx, master.Addr, opts.Replicas); err != nil {
		s.Stop()
		return nil, err
	}
	// With min-replicas-to-write the master refuses writes until enough
	// replicas have synced and acknowledged within the lag.
	mc := master.Client()
	defer mc.Close()
	for {
		err := mc.Set(ctx, "redistest:probe", "1", 0).Err()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			s.Stop()
			return nil, fmt.Errorf("master does not take writes: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s, nil
}

func startSentinel(dir, file string, port int) (*Server, error) {
	srv := &Server{Addr: "127.0.0.1:" + strconv.Itoa(port), Port: port, Dir: dir}
	cmd := exec.Command("redis-server", file, "--sentinel")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start redis-server --sentinel: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	srv.cmd, srv.done = cmd, done
	if err := waitReady(srv.Addr, done, 10*time.Second); err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("sentinel on %s: %w (log: %s)", srv.Addr, err, srv.logTail())
	}
	return srv, nil
}

// waitSettled polls until every sentinel names master as the master, sees
// the replicas and the two other sentinels.
func (s *Sentinel) waitSettled(ctx context.Context, master string, replicas int) error {
	var last error
	for ctx.Err() == nil {
		if last = s.settled(ctx, master, replicas); last == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("sentinels not settled: %w", last)
}

func (s *Sentinel) settled(ctx context.Context, master string, replicas int) error {
	for _, sn := range s.Sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: sn.Addr})
		addr, err := c.GetMasterAddrByName(ctx, SentinelMaster).Result()
		if err == nil && strings.Join(addr, ":") != master {
			err = fmt.Errorf("%s names %v as master", sn.Addr, addr)
		}
		var m map[string]string
		if err == nil {
			m, err = c.Master(ctx, SentinelMaster).Result()
		}
		_ = c.Close()
		if err != nil {
			return err
		}
		if m["num-slaves"] != strconv.Itoa(replicas) || m["num-other-sentinels"] != "2" {
			return fmt.Errorf("%s sees %s replicas and %s other sentinels", sn.Addr, m["num-slaves"], m["num-other-sentinels"])
		}
	}
	return nil
}

// URL is REDIS_URL for clients that find the master through the sentinels.
func (s *Sentinel) URL() string {
	u := "redis://" + s.Sentinels[0].Addr + "/0?master_name=" + SentinelMaster
	for _, sn := range s.Sentinels[1:] {
		u += "&addr=" + sn.Addr
	}
	return u
}

// Master asks the first sentinel that answers for the master's address.
func (s *Sentinel) Master(ctx context.Context) (string, error) {
	var last error
	for _, sn := range s.Sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: sn.Addr})
		addr, err := c.GetMasterAddrByName(ctx, SentinelMaster).Result()
		_ = c.Close()
		if err == nil {
			return strings.Join(addr, ":"), nil
		}
		last = err
	}
	return "", fmt.Errorf("no sentinel names a master: %w", last)
}

// Data server at addr, or nil.
func (s *Sentinel) Server(addr string) *Server {
	for _, d := range s.Data {
		if d.Addr == addr {
			return d
		}
	}
	return nil
}

// Failover runs SENTINEL FAILOVER, which promotes the replica without
// waiting for the master to be seen down.
func (s *Sentinel) Failover(ctx context.Context) error {
	c := redis.NewSentinelClient(&redis.Options{Addr: s.Sentinels[0].Addr})
	defer c.Close()
	if err := c.Failover(ctx, SentinelMaster).Err(); err != nil {
		return fmt.Errorf("sentinel failover: %w", err)
	}
	return nil
}

// WaitMasterNot polls until the sentinels name a master other than old,
// and returns it.
func (s *Sentinel) WaitMasterNot(ctx context.Context, old string) (string, error) {
	for ctx.Err() == nil {
		if m, err := s.Master(ctx); err == nil && m != old {
			return m, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "", fmt.Errorf("master still %s: %w", old, ctx.Err())
}

// Stop stops the sentinels, then the data servers.
func (s *Sentinel) Stop() {
	for _, sn := range s.Sentinels {
		sn.Stop()
	}
	for _, d := range s.Data {
		d.Stop()
	}
}

// WaitInSync polls until the master's every replica is online with a lag
// of at most one second, as after a resynchronisation has finished.
func (s *Sentinel) WaitInSync(ctx context.Context, replicas int) error {
	for ctx.Err() == nil {
		m, err := s.Master(ctx)
		if err == nil {
			c := node(m)
			var info string
			info, err = c.Info(ctx, "replication").Result()
			_ = c.Close()
			if err == nil && inSync(info, replicas) {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("replicas not in sync: %w", ctx.Err())
}

// inSync reads INFO replication: replicas lines like
// "slave0:ip=…,port=…,state=online,offset=…,lag=0", each online and at most
// one second behind.
func inSync(info string, replicas int) bool {
	n := 0
	for _, line := range strings.Split(info, "\n") {
		if !strings.HasPrefix(line, "slave") || !strings.Contains(line, "state=online") {
			continue
		}
		_, lag, ok := strings.Cut(strings.TrimSpace(line), "lag=")
		if l, err := strconv.Atoi(lag); ok && err == nil && l <= 1 {
			n++
		}
	}
	return n >= replicas
}
