package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/cputime"
	"github.com/switchboard/switchboard/internal/redistest"
	"github.com/switchboard/switchboard/internal/twilioapi"
)

// GatewayConfig is one run against running gateways, as customers and
// agents meet them: signed SMS webhooks and chat websockets in, agent
// console websockets out.
type GatewayConfig struct {
	Targets  []string // gateway base URLs; empty with Spawn > 0
	Spawn    int      // gateways to start from Binary
	Binary   string   // the switchboard binary for Spawn
	RedisURL string   // the gateways' Redis; "" with Spawn starts one
	// Workspace of the gateways (their SWITCHBOARD_WORKSPACE).
	Workspace   string
	TwilioSID   string
	TwilioToken string
	SMSNumber   string // our number the SMS contacts text
	VoiceNumber string // our number the voice contacts call

	Rate     float64
	Duration time.Duration
	Mix      map[string]float64 // channel -> share: sms, chat, voice
	Agents   int
	Think    time.Duration // offer -> accept
	Handle   time.Duration // accept -> close
	MsgEvery time.Duration // a chat customer's messages while served; 0: none
	// SMTPDelay is how long loadgen's SMTP server takes to answer each of
	// MAIL, RCPT and DATA, as a mail provider across a network does.
	SMTPDelay time.Duration
	// TwilioDelay is how long the fake Twilio takes to answer a message
	// sent, as the real API across a network does.
	TwilioDelay time.Duration
	// TwilioLimit is how many messages the fake Twilio answers at once; it
	// answers 429 to any more, as an account's concurrency limit. 0: none.
	TwilioLimit int
	// SMSMaxSending is the spawned gateways' channels.sms.max_sending;
	// 0 leaves it out (their default).
	SMSMaxSending int
	Drain         time.Duration
	// AwaitReplies makes the drain also wait, within Drain, until every
	// reply an agent wrote and every SMS acknowledgement has reached its
	// customer.
	AwaitReplies bool

	KillGatewayAt     time.Duration // SIGKILL the last spawned gateway; 0: never
	KillRedisAt       time.Duration // SIGKILL the spawned Redis (AOF on); 0: never
	RedisRestartAfter time.Duration
	ChatIdle          int // open this many waiting visitors and measure the gateway at rest
	Idle              time.Duration

	Log io.Writer
}

// GatewayResult is the whole summary (-json).
type GatewayResult struct {
	Contacts, Acked, Routed, Lost, Duplicated, DoubleOffered, Late int
	Rate                                                           float64
	Ack, Offer, Msg, Reply                                         Pcts
	// Wait is the answer time of the first wait-URL fetch of each call
	// (Twilio fetches it as soon as the caller is enqueued).
	Wait Pcts
	// AckText is when a customer's automatic answer (an SMS or a mail)
	// arrived, from the contact's scheduled time. (An email contact is
	// acknowledged once the mailbox holds its mail: from then on it is
	// the product's.)
	AckText Pcts
	// AckSkipped counts SMS customers whose agent's reply reached them
	// and no acknowledgement did (one held back until then is not sent).
	AckSkipped int
	ByChannel  map[string]Pcts
	// Messages are the chat customers' messages after the first: sent,
	// stored (echoed back to the visitor) and refused (an error frame,
	// such as rate_limited: the gateway takes one a second per visitor
	// after a burst of ten). MsgRate is the stored ones per second, from
	// the first stored to the last.
	Messages, MessagesStored, MessagesRefused int
	MsgRate                                   float64
	RedisCommands                             int64
	RedisCommandsPerContact                   float64
	RedisReadsPerContact                      float64 // socket reads, about one per round trip
	GatewayCPUMicrosPerContact                float64
	RedisCPUMicrosPerContact                  float64
	// LoadgenCPUMicrosPerContact is this generator's own CPU per routed
	// contact, over the same stretch: it shares the machine's cores with
	// the gateways and Redis, so what it costs is not theirs to use.
	LoadgenCPUMicrosPerContact float64
	Commands                   map[string]int64 `json:",omitempty"`
	CommandMicros              map[string]int64 `json:",omitempty"` // Redis time per command; a script's includes the commands it calls
	Idle                       *IdleResult      `json:",omitempty"`
}

// Pcts are latency percentiles in milliseconds.
type Pcts struct {
	N              int
	P50, P99, P999 float64
}

// IdleResult is what waiting visitors cost a gateway at rest.
type IdleResult struct {
	Visitors, Refused, ClosedDuringBurst int
	RSSMB                                float64
	Goroutines                           int
	RedisCommandsPerSec                  float64
}

// Line is the agreed last line.
func (r GatewayResult) Line() string {
	return fmt.Sprintf("routed=%d rate=%.0f/s p50=%.2fms p99=%.2fms p999=%.2fms lost=%d duplicated=%d double_offered=%d msg_p99=%.2fms",
		r.Routed, r.Rate, r.Offer.P50, r.Offer.P99, r.Offer.P999, r.Lost, r.Duplicated, r.DoubleOffered, r.Msg.P99)
}

func pcts(d []time.Duration) Pcts {
	if len(d) == 0 {
		return Pcts{}
	}
	slices.Sort(d)
	at := func(p float64) float64 {
		return float64(d[min(len(d)-1, int(float64(len(d))*p))]) / float64(time.Millisecond)
	}
	return Pcts{N: len(d), P50: at(0.5), P99: at(0.99), P999: at(0.999)}
}

// contact is one customer's arrival and what became of it.
type contact struct {
	i       int
	channel string
	sched   time.Time
	acked   atomic.Int64 // ns from sched; 0: not yet
	offered atomic.Int64 // first offer on an agent socket
	mu      sync.Mutex
	convs   map[string]bool // conversations offered for it
	late    bool
	// A chat visitor stops writing once its agent is about to close
	// (stop), and the agent closes only after the visitor's messages in
	// flight (written, not yet echoed) were stored: a message the gateway
	// took after the close would rightly open a second conversation, which
	// is the load generator's doing, not a duplicate.
	stop     atomic.Bool
	inflight atomic.Int64
	// ackText is when the customer's automatic answer (an SMS or a
	// mail) arrived (ns from sched); 0: not yet.
	ackText atomic.Int64
	// answered: an agent's reply reached the customer.
	answered atomic.Bool
}

// run state shared by agents and customers.
type gwRun struct {
	cfg      GatewayConfig
	tag      string
	contacts []*contact
	http     *http.Client

	alive   []atomic.Bool // per target
	targets []string

	mu       sync.Mutex
	msgLat   []time.Duration
	replyLat []time.Duration
	waitLat  []time.Duration
	// ackTextLat are the customers' automatic answers, from sched.
	ackTextLat []time.Duration
	msgSent    map[string]time.Time // message text -> when the customer sent it
	replies    map[string]time.Time // conv -> when the agent sent the last reply
	convOf     map[string]*contact

	messages atomic.Int64
	// stored and refused customer messages (after the first), and when
	// the first and the last were stored (unix ns).
	stored, refused         atomic.Int64
	firstStored, lastStored atomic.Int64
	errs                    atomic.Int64

	mail   *emailRig   // with email in the mix
	twilio *fakeTwilio // with -spawn

	// shared are the contacts, once set up, for other goroutines.
	shared atomic.Pointer[[]*contact]
}

// contactAt is contact i, or nil before the contacts are shared or past
// their end.
func (g *gwRun) contactAt(i int) *contact {
	cs := g.shared.Load()
	if cs == nil || i < 0 || i >= len(*cs) {
		return nil
	}
	return (*cs)[i]
}

func (g *gwRun) logf(format string, a ...any) { fmt.Fprintf(g.cfg.Log, format+"\n", a...) }

// target picks a live gateway for index i.
func (g *gwRun) target(i int) string {
	for k := range len(g.targets) {
		j := (i + k) % len(g.targets)
		if g.alive[j].Load() {
			return g.targets[j]
		}
	}
	return g.targets[0]
}

// RunGateways performs one run against gateways.
func RunGateways(ctx context.Context, cfg GatewayConfig) (GatewayResult, error) {
	var res GatewayResult
	cfg.Duration = min(cfg.Duration, maxDuration)
	if cfg.Spawn == 0 && (cfg.TwilioDelay > 0 || cfg.TwilioLimit > 0 || cfg.SMSMaxSending > 0) {
		return res, errors.New("-twilio-delay, -twilio-limit and -sms-max-sending need -spawn: they shape loadgen's fake Twilio and the gateways it starts")
	}
	if cfg.Workspace == "" {
		cfg.Workspace = "default"
	}
	var stopAll []func()
	defer func() {
		for i := len(stopAll) - 1; i >= 0; i-- {
			stopAll[i]()
		}
	}()
	var redisSrv *redistest.Server
	if cfg.RedisURL == "" {
		if cfg.Spawn == 0 {
			return res, errors.New("-target needs REDIS_URL (the gateways' Redis) to count what was lost")
		}
		dir, err := os.MkdirTemp("", "loadgen-redis-")
		if err != nil {
			return res, err
		}
		stopAll = append(stopAll, func() { os.RemoveAll(dir) })
		redisSrv, err = redistest.Launch(redistest.Options{AOF: cfg.KillRedisAt > 0}, dir)
		if err != nil {
			return res, fmt.Errorf("start redis-server: %w", err)
		}
		stopAll = append(stopAll, redisSrv.Stop)
		cfg.RedisURL = redisSrv.URL()
	}
	opts, err := localRedis(cfg.RedisURL)
	if err != nil {
		return res, err
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()

	g := &gwRun{cfg: cfg, tag: fmt.Sprintf("%08x", uint32(time.Now().UnixNano()>>10)),
		msgSent: map[string]time.Time{}, replies: map[string]time.Time{}, convOf: map[string]*contact{},
		http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 512}}}
	var procs []*exec.Cmd
	if cfg.Spawn > 0 {
		if cfg.TwilioSID == "" {
			cfg.TwilioSID, cfg.TwilioToken = "AC"+strings.Repeat("0", 32), strings.Repeat("ab", 16)
		}
		g.cfg = cfg
		fake, err := startFakeTwilio(cfg.TwilioSID, cfg.TwilioDelay, cfg.TwilioLimit, func(to, body string, callback bool) { g.smsReply(to, body, callback) })
		if err != nil {
			return res, err
		}
		stopAll = append(stopAll, fake.stop)
		g.twilio = fake
		if cfg.Mix["email"] > 0 {
			dir, err := os.MkdirTemp("", "loadgen-mail-")
			if err != nil {
				return res, err
			}
			stopAll = append(stopAll, func() { os.RemoveAll(dir) })
			if g.mail, err = startEmailRig(dir, cfg.SMTPDelay, g.emailAnswer); err != nil {
				return res, err
			}
			stopAll = append(stopAll, g.mail.stop)
		}
		procs, g.targets, err = spawnGateways(ctx, cfg, fake.url, g.agentIDs(), g.mail)
		for _, p := range procs {
			stopAll = append(stopAll, func() { _ = p.Process.Signal(syscall.SIGTERM); _ = p.Wait() })
		}
		if err != nil {
			return res, err
		}
	} else {
		if cfg.Mix["email"] > 0 {
			return res, errors.New("email needs -spawn: loadgen runs the mailbox the gateways read and the SMTP server they answer through")
		}
		g.targets = cfg.Targets
		for _, t := range g.targets {
			u, err := url.Parse(t)
			if err != nil || u.Host == "" {
				return res, fmt.Errorf("-target %q: not a URL", t)
			}
			if err := loopbackOnly(u.Host); err != nil {
				return res, err
			}
		}
	}
	g.alive = make([]atomic.Bool, len(g.targets))
	for i := range g.alive {
		g.alive[i].Store(true)
	}
	if cfg.ChatIdle > 0 {
		idle, err := g.chatIdle(ctx, rdb, procs)
		res.Idle = idle
		return res, err
	}

	// Agents: accounts through the product's auth service (what
	// `switchboard agent add` does), signed in over HTTP, available on the
	// console websocket.
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	agents, err := g.startAgents(runCtx, rdb)
	if err != nil {
		return res, err
	}
	defer agents.Wait()

	total := int(math.Min(cfg.Rate*cfg.Duration.Seconds(), maxConversations))
	g.contacts = make([]*contact, total)
	chans := make([]string, 0, 2)
	shares := make([]float64, 0, 2)
	for ch, s := range cfg.Mix {
		chans, shares = append(chans, ch), append(shares, s)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var sum float64
	for _, s := range shares {
		sum += s
	}
	for i := range g.contacts {
		x, ch := rng.Float64()*sum, chans[len(chans)-1]
		for k, s := range shares {
			if x < s {
				ch = chans[k]
				break
			}
			x -= s
		}
		g.contacts[i] = &contact{i: i, channel: ch, convs: map[string]bool{}}
	}
	g.logf("%d contacts at %.0f/s over %s, mix %v, %d agents, %d gateways", total, cfg.Rate, cfg.Duration, cfg.Mix, cfg.Agents, len(g.targets))

	cmd0, rcpu0 := redisCommands(ctx, rdb), redisCPU(ctx, rdb)
	byName0, usec0 := commandStats(ctx, rdb)
	reads0 := redisReads(ctx, rdb)
	gcpu0, lcpu0 := procsCPU(procs), cputime.Self()
	start := time.Now()
	for i, c := range g.contacts {
		c.sched = start.Add(time.Duration(float64(i) / cfg.Rate * float64(time.Second)))
	}
	// From here the contacts are shared with the goroutines that hear
	// back from the gateways (agents' sockets, the fake Twilio, the SMTP
	// server); they read them through contactAt.
	shared := g.contacts
	g.shared.Store(&shared)
	chaos(runCtx, g, start, procs, redisSrv)
	var customers sync.WaitGroup
	late := 0
	for i, c := range g.contacts {
		due := c.sched
		if d := time.Until(due); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		} else if d < -10*time.Millisecond {
			// Open loop: the arrival goes out anyway, counted as late.
			c.late = true
			late++
		}
		if ctx.Err() != nil {
			g.contacts = g.contacts[:i]
			break
		}
		customers.Go(func() {
			switch c.channel {
			case "sms":
				g.sms(runCtx, c)
			case "voice":
				g.voice(runCtx, c)
			case "email":
				g.email(runCtx, c)
			default:
				g.chat(runCtx, c)
			}
		})
	}
	sendTime := time.Since(start)
	deadline := time.Now().Add(cfg.Drain)
	var allOffered time.Time
	for time.Now().Before(deadline) && ctx.Err() == nil {
		n := 0
		for _, c := range g.contacts {
			if c.offered.Load() > 0 {
				n++
			}
		}
		if n == len(g.contacts) && allOffered.IsZero() {
			allOffered = time.Now()
		}
		if !allOffered.IsZero() && (!cfg.AwaitReplies || g.repliesArrived(allOffered)) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmds, rcpu, gcpu, lcpu := redisCommands(ctx, rdb)-cmd0, redisCPU(ctx, rdb)-rcpu0, procsCPU(procs)-gcpu0, cputime.Self()-lcpu0
	reads := redisReads(ctx, rdb) - reads0
	byName, usec := commandStats(ctx, rdb)
	for k, n := range byName0 {
		byName[k] -= n
	}
	for k, n := range usec0 {
		usec[k] -= n
	}
	cancel()
	customers.Wait()

	res.Contacts, res.Late = len(g.contacts), late
	var ack, offer []time.Duration
	by := map[string][]time.Duration{}
	for _, c := range g.contacts {
		if a := c.acked.Load(); a > 0 {
			res.Acked++
			ack = append(ack, time.Duration(a))
		}
		if o := c.offered.Load(); o > 0 {
			offer = append(offer, time.Duration(o))
			by[c.channel] = append(by[c.channel], time.Duration(o))
		} else if c.acked.Load() > 0 {
			res.Lost++
		}
		c.mu.Lock()
		if len(c.convs) > 1 {
			res.Duplicated++
		}
		c.mu.Unlock()
	}
	res.Routed = len(offer)
	res.Rate = float64(res.Routed) / sendTime.Seconds()
	res.Ack, res.Offer = pcts(ack), pcts(offer)
	res.ByChannel = map[string]Pcts{}
	for ch, d := range by {
		res.ByChannel[ch] = pcts(d)
	}
	g.mu.Lock()
	res.Msg, res.Reply, res.Wait, res.AckText = pcts(g.msgLat), pcts(g.replyLat), pcts(g.waitLat), pcts(g.ackTextLat)
	g.mu.Unlock()
	res.Messages, res.MessagesStored, res.MessagesRefused = int(g.messages.Load()), int(g.stored.Load()), int(g.refused.Load())
	if span := time.Duration(g.lastStored.Load() - g.firstStored.Load()); span > 0 {
		res.MsgRate = float64(res.MessagesStored) / span.Seconds()
	}
	res.DoubleOffered, err = doubleOffered(context.Background(), rdb, cfg.Workspace, g.convOf)
	if err != nil {
		g.logf("double offers: %v", err)
	}
	per := func(x float64) float64 { return x / math.Max(1, float64(res.Routed)) }
	res.RedisCommands = cmds
	res.Commands, res.CommandMicros = byName, usec
	res.RedisCommandsPerContact = per(float64(cmds))
	res.RedisReadsPerContact = per(float64(reads))
	res.RedisCPUMicrosPerContact = per(float64(rcpu.Microseconds()))
	res.GatewayCPUMicrosPerContact = per(float64(gcpu.Microseconds()))
	res.LoadgenCPUMicrosPerContact = per(float64(lcpu.Microseconds()))
	g.logf("acknowledged %d/%d (p50 %.2fms p99 %.2fms); late arrivals %d; errors %d", res.Acked, res.Contacts, res.Ack.P50, res.Ack.P99, late, g.errs.Load())
	for ch, p := range res.ByChannel {
		g.logf("offer %s: n=%d p50=%.2fms p99=%.2fms p999=%.2fms", ch, p.N, p.P50, p.P99, p.P999)
	}
	if res.Wait.N > 0 {
		g.logf("voice wait URL answered: n=%d p50=%.2fms p99=%.2fms", res.Wait.N, res.Wait.P50, res.Wait.P99)
	}
	if g.twilio != nil && g.cfg.TwilioLimit > 0 {
		g.logf("fake Twilio: answered 429 to %d of %d messages sent (at most %d at once)", g.twilio.busy.Load(), g.twilio.asked.Load(), g.cfg.TwilioLimit)
	}
	for _, c := range g.contacts {
		if c.channel == "sms" && c.ackText.Load() == 0 && c.answered.Load() {
			res.AckSkipped++
		}
	}
	if res.AckText.N > 0 || res.AckSkipped > 0 {
		g.logf("automatic acknowledgement (SMS or mail) received: n=%d p50=%.2fms p99=%.2fms; SMS customers answered without one: %d",
			res.AckText.N, res.AckText.P50, res.AckText.P99, res.AckSkipped)
	}
	if res.Messages > 0 {
		g.logf("chat customer messages: %d sent, %d stored (%.0f/s from the first to the last), %d refused (rate_limited past 10 at once, then 1/s per visitor)",
			res.Messages, res.MessagesStored, res.MsgRate, res.MessagesRefused)
	}
	g.logf("customer message -> agent socket: n=%d p50=%.2fms p99=%.2fms; agent reply -> customer: n=%d p50=%.2fms p99=%.2fms",
		res.Msg.N, res.Msg.P50, res.Msg.P99, res.Reply.N, res.Reply.P50, res.Reply.P99)
	g.logf("redis commands per routed contact, by name: %s", topCommands(byName, per, 12))
	g.logf("redis µs per routed contact, by command (a script's time includes its commands'): %s", topCommands(usec, per, 12))
	if len(procs) > 0 {
		g.logf("per routed contact: redis commands %.1f in %.1f reads, gateway cpu %.0fµs, redis cpu %.0fµs, loadgen cpu %.0fµs",
			res.RedisCommandsPerContact, res.RedisReadsPerContact, res.GatewayCPUMicrosPerContact, res.RedisCPUMicrosPerContact,
			res.LoadgenCPUMicrosPerContact)
	} else {
		g.logf("per routed contact: redis commands %.1f in %.1f reads, redis cpu %.0fµs, loadgen cpu %.0fµs",
			res.RedisCommandsPerContact, res.RedisReadsPerContact, res.RedisCPUMicrosPerContact, res.LoadgenCPUMicrosPerContact)
	}
	return res, nil
}

// chaos schedules the kills asked for.
func chaos(ctx context.Context, g *gwRun, start time.Time, procs []*exec.Cmd, srv *redistest.Server) {
	cfg := g.cfg
	if cfg.KillGatewayAt > 0 && len(procs) > 1 {
		time.AfterFunc(time.Until(start.Add(cfg.KillGatewayAt)), func() {
			if ctx.Err() != nil {
				return
			}
			last := len(procs) - 1
			g.alive[last].Store(false)
			_ = procs[last].Process.Kill()
			g.logf("SIGKILLed gateway %s", g.targets[last])
		})
	}
	if cfg.KillRedisAt > 0 && srv != nil {
		time.AfterFunc(time.Until(start.Add(cfg.KillRedisAt)), func() {
			if ctx.Err() != nil {
				return
			}
			srv.Kill()
			g.logf("SIGKILLed redis-server")
			time.Sleep(cfg.RedisRestartAfter)
			if err := srv.Restart(redistest.Options{AOF: true}); err != nil {
				g.logf("restart redis-server: %v", err)
				return
			}
			g.logf("restarted redis-server")
		})
	}
}

// ---- agents ----

type agentClient struct {
	g        *gwRun
	id       string
	jar      http.CookieJar
	n        int
	mu       sync.Mutex
	ws       *websocket.Conn
	wmu      sync.Mutex
	seq      atomic.Int64
	accepted map[string]bool
}

func (g *gwRun) startAgents(ctx context.Context, rdb *redis.Client) (*sync.WaitGroup, error) {
	svc, err := auth.New(auth.Config{Redis: rdb, Workspace: g.cfg.Workspace, BcryptCost: bcrypt.MinCost})
	if err != nil {
		return nil, err
	}
	password := "lg-" + g.tag + "-secret"
	var wg sync.WaitGroup
	ready := make(chan error, g.cfg.Agents)
	// Logins are counted per client IP until they succeed (auth's rate
	// limit allows 5 at once), so a few at a time.
	sem := make(chan struct{}, 3)
	for i := range g.cfg.Agents {
		a := &agentClient{g: g, id: g.agentIDs()[i], n: i, accepted: map[string]bool{}}
		err := svc.CreateAccount(ctx, auth.Account{ID: a.id, Name: "Agent " + strconv.Itoa(i), Role: auth.RoleAgent}, password)
		if err != nil && !errors.Is(err, auth.ErrExists) {
			return nil, fmt.Errorf("create agent %s: %w", a.id, err)
		}
		wg.Go(func() {
			sem <- struct{}{}
			err := a.connect(ctx, password)
			<-sem
			ready <- err
			if err == nil {
				a.loop(ctx, password)
			}
		})
	}
	for range g.cfg.Agents {
		if err := <-ready; err != nil {
			return &wg, err
		}
	}
	g.logf("%d agents signed in and available", g.cfg.Agents)
	return &wg, nil
}

func (g *gwRun) agentIDs() []string {
	ids := make([]string, g.cfg.Agents)
	for i := range ids {
		ids[i] = fmt.Sprintf("lg%s-a%d", g.tag, i)
	}
	return ids
}

// connect signs in (once) and opens the console socket on a live gateway.
func (a *agentClient) connect(ctx context.Context, password string) error {
	g := a.g
	base := g.target(a.n)
	if a.jar == nil {
		a.jar, _ = cookiejar.New(nil)
	}
	u, _ := url.Parse(base)
	if len(a.jar.Cookies(u)) == 0 {
		body, _ := json.Marshal(map[string]string{"id": a.id, "password": password})
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/login", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		cl := &http.Client{Jar: a.jar, Timeout: 30 * time.Second}
		resp, err := cl.Do(req)
		if err != nil {
			return fmt.Errorf("agent %s login: %w", a.id, err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			time.Sleep(time.Second)
			return a.connect(ctx, password)
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("agent %s login: %s", a.id, resp.Status)
		}
	}
	// The session lives in Redis, so the cookie is good on every gateway.
	var cookies []string
	for _, t := range g.targets {
		tu, _ := url.Parse(t)
		for _, ck := range a.jar.Cookies(tu) {
			cookies = append(cookies, ck.Name+"="+ck.Value)
		}
		if len(cookies) > 0 {
			break
		}
	}
	h := http.Header{"Cookie": {strings.Join(cookies, "; ")}}
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, "ws"+strings.TrimPrefix(base, "http")+"/agent/ws", h)
	if err != nil {
		return fmt.Errorf("agent %s console: %w", a.id, err)
	}
	a.mu.Lock()
	a.ws = ws
	a.mu.Unlock()
	return a.send(map[string]any{"type": "state", "state": "available"})
}

func (a *agentClient) send(f map[string]any) error {
	f["id"] = "r" + strconv.FormatInt(a.seq.Add(1), 10)
	b, _ := json.Marshal(f)
	a.mu.Lock()
	ws := a.ws
	a.mu.Unlock()
	a.wmu.Lock()
	defer a.wmu.Unlock()
	_ = ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return ws.WriteMessage(websocket.TextMessage, b)
}

// loop reads the console's frames until ctx ends, reconnecting to another
// gateway when its socket breaks (a killed gateway).
func (a *agentClient) loop(ctx context.Context, password string) {
	go func() { <-ctx.Done(); a.mu.Lock(); a.ws.Close(); a.mu.Unlock() }()
	for ctx.Err() == nil {
		a.mu.Lock()
		ws := a.ws
		a.mu.Unlock()
		_, data, err := ws.ReadMessage()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			for ctx.Err() == nil {
				time.Sleep(200 * time.Millisecond)
				if a.connect(ctx, password) == nil {
					break
				}
			}
			continue
		}
		now := time.Now()
		var f struct {
			Type  string `json:"type"`
			Offer struct {
				Conv    string `json:"conv"`
				Preview string `json:"preview"`
			} `json:"offer"`
			Conversation struct {
				ID      string `json:"id"`
				Channel string `json:"channel"`
			} `json:"conversation"`
			Message struct {
				Conv   string `json:"conv"`
				Text   string `json:"text"`
				Author string `json:"author"`
			} `json:"message"`
		}
		if json.Unmarshal(data, &f) != nil {
			continue
		}
		switch f.Type {
		case "offer":
			a.g.offered(f.Offer.Conv, f.Offer.Preview, now)
			conv := f.Offer.Conv
			time.AfterFunc(a.g.cfg.Think, func() {
				_ = a.send(map[string]any{"type": "accept", "conv": conv})
			})
		case "assigned":
			conv := f.Conversation.ID
			a.mu.Lock()
			first := !a.accepted[conv]
			a.accepted[conv] = true
			a.mu.Unlock()
			if !first {
				continue
			}
			if f.Conversation.Channel != "voice" { // a call is talked, not written
				a.g.mu.Lock()
				a.g.replies[conv] = time.Now()
				a.g.mu.Unlock()
				_ = a.send(map[string]any{"type": "reply", "conv": conv, "text": "hello from " + a.id})
			}
			time.AfterFunc(a.g.cfg.Handle, func() {
				a.g.quiesce(conv)
				_ = a.send(map[string]any{"type": "close", "conv": conv, "disposition": "resolved"})
			})
		case "message":
			a.g.customerMessageSeen(f.Message.Text, now)
		}
	}
}

// quiesce stops conv's chat visitor from writing and waits (at most
// quiesceWait) until what it wrote has been stored, so the close comes
// after the visitor's last message, as when a person says goodbye.
func (g *gwRun) quiesce(conv string) {
	g.mu.Lock()
	c := g.convOf[conv]
	g.mu.Unlock()
	if c == nil || c.channel != "chat" {
		return
	}
	c.stop.Store(true)
	for end := time.Now().Add(quiesceWait); c.inflight.Load() > 0 && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
}

// quiesceWait bounds how long an agent's close waits for its visitor's
// messages in flight.
const quiesceWait = 5 * time.Second

// offered records an offer seen on an agent socket; the preview carries the
// contact's tag.
func (g *gwRun) offered(conv, preview string, at time.Time) {
	c := g.contactOf(preview)
	if c == nil {
		return
	}
	c.mu.Lock()
	c.convs[conv] = true
	c.mu.Unlock()
	g.mu.Lock()
	g.convOf[conv] = c
	g.mu.Unlock()
	c.offered.CompareAndSwap(0, int64(at.Sub(c.sched)))
}

// contactOf finds the contact a text was written by: "lg<tag> <i> …".
func (g *gwRun) contactOf(text string) *contact {
	rest, ok := strings.CutPrefix(text, "lg"+g.tag+" ")
	if !ok {
		// A call's preview names the caller, whose number is the index.
		num, isCall := strings.CutPrefix(text, "Call from "+voiceCallerPrefix)
		if !isCall {
			return nil
		}
		rest = strings.TrimLeft(num, "0")
		if rest == "" {
			rest = "0"
		}
	}
	num, _, _ := strings.Cut(rest, " ")
	i, err := strconv.Atoi(num)
	if err != nil {
		return nil
	}
	return g.contactAt(i)
}

func (g *gwRun) customerMessageSeen(text string, at time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if sent, ok := g.msgSent[text]; ok {
		g.msgLat = append(g.msgLat, at.Sub(sent))
		delete(g.msgSent, text)
	}
}

// ---- customers ----

func (g *gwRun) sms(ctx context.Context, c *contact) {
	form := url.Values{
		"MessageSid": {"SM" + g.tag + fmt.Sprintf("%0*d", 32-len(g.tag), c.i)},
		"AccountSid": {g.cfg.TwilioSID},
		"From":       {fmt.Sprintf("+1555%07d", c.i%10_000_000)},
		"To":         {g.cfg.SMSNumber},
		"Body":       {fmt.Sprintf("lg%s %d where is my parcel", g.tag, c.i)},
		"NumMedia":   {"0"},
	}
	// Twilio retries a webhook that failed; so does this, on another gateway
	// when the first went away, with the same MessageSid.
	g.retry(ctx, 5, func(attempt int) bool {
		u := g.target(c.i+attempt) + "/twilio/sms"
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", twilioapi.Sign(g.cfg.TwilioToken, u, form))
		resp, err := g.http.Do(req)
		if err != nil {
			return false
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false
		}
		c.acked.CompareAndSwap(0, int64(time.Since(c.sched)))
		return true
	})
}

// retry makes an arrival up to n times, 100 ms apart, as a provider
// retries a webhook that failed (try may pick another gateway by its
// attempt number), until try succeeds or ctx ends. A failed try counts as
// an error.
func (g *gwRun) retry(ctx context.Context, n int, try func(attempt int) bool) {
	for attempt := range n {
		if try(attempt) || ctx.Err() != nil {
			return
		}
		g.errs.Add(1)
		time.Sleep(100 * time.Millisecond)
	}
}

// voiceCallerPrefix and the contact's index (7 digits) make a caller's
// number, so the call's offer preview ("Call from …") names its contact.
const voiceCallerPrefix = "+1556"

// waitURL is the <Enqueue waitUrl> of the incoming call's answer.
var waitURL = regexp.MustCompile(`waitUrl="([^"]+)"`)

// voice is one caller: the incoming-call webhook (its answer is the ack),
// then the first wait-URL fetch Twilio makes once the call is queued.
func (g *gwRun) voice(ctx context.Context, c *contact) {
	sid := "CA" + g.tag + fmt.Sprintf("%0*x", 32-len(g.tag), c.i)
	form := url.Values{
		"CallSid": {sid}, "AccountSid": {g.cfg.TwilioSID}, "From": {fmt.Sprintf("%s%07d", voiceCallerPrefix, c.i%10_000_000)},
		"To": {g.cfg.VoiceNumber}, "CallStatus": {"ringing"}, "Direction": {"inbound"}, "ApiVersion": {"2010-04-01"},
	}
	post := func(u string, f url.Values) (string, bool) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", twilioapi.Sign(g.cfg.TwilioToken, u, f))
		resp, err := g.http.Do(req)
		if err != nil {
			return "", false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return string(b), resp.StatusCode == http.StatusOK
	}
	g.retry(ctx, 5, func(attempt int) bool {
		doc, ok := post(g.target(c.i+attempt)+"/twilio/voice", form)
		if !ok {
			return false
		}
		c.acked.CompareAndSwap(0, int64(time.Since(c.sched)))
		m := waitURL.FindStringSubmatch(doc)
		if m == nil {
			g.errs.Add(1)
			return true
		}
		wf := url.Values{}
		for k, v := range form {
			wf[k] = v
		}
		wf.Set("CallStatus", "in-progress")
		wf.Set("QueueSid", "QU"+fmt.Sprintf("%032x", 1))
		wf.Set("QueuePosition", "1")
		wf.Set("QueueTime", "0")
		wf.Set("AvgQueueTime", "0")
		wf.Set("CurrentQueueSize", "1")
		wf.Set("MaxQueueSize", "100")
		start := time.Now()
		if _, ok := post(html.UnescapeString(m[1]), wf); ok {
			d := time.Since(start)
			g.mu.Lock()
			g.waitLat = append(g.waitLat, d)
			g.mu.Unlock()
		} else {
			g.errs.Add(1)
		}
		return true
	})
}

// smsReply is the fake Twilio receiving an agent's reply, or the
// automatic acknowledgement: the one message sent without a status
// callback, since it is no outbox message.
func (g *gwRun) smsReply(to, body string, callback bool) {
	i, err := strconv.Atoi(strings.TrimPrefix(to, "+1555"))
	c := g.contactAt(i)
	if err != nil || c == nil {
		return
	}
	if strings.HasPrefix(body, "hello from ") {
		g.replied(c)
		return
	}
	if !callback {
		g.acknowledged(c)
	}
}

// acknowledged times the automatic answer that reached contact c, once.
func (g *gwRun) acknowledged(c *contact) {
	if c.ackText.CompareAndSwap(0, int64(time.Since(c.sched))) {
		g.mu.Lock()
		g.ackTextLat = append(g.ackTextLat, time.Duration(c.ackText.Load()))
		g.mu.Unlock()
	}
}

// repliesArrived says whether every reply agents wrote has reached its
// customer, once the last offer (at allOffered) has had time to be
// accepted and answered, and every SMS customer has their automatic
// acknowledgement: when replies go first, those can come last. (One
// held back until the agent's answer is not sent at all.)
func (g *gwRun) repliesArrived(allOffered time.Time) bool {
	if time.Since(allOffered) < g.cfg.Think+500*time.Millisecond {
		return false
	}
	for _, c := range g.contacts {
		if c.channel == "sms" && c.ackText.Load() == 0 && !c.answered.Load() {
			return false
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.replies) == 0
}

// replied times the agent's reply that reached contact c.
func (g *gwRun) replied(c *contact) {
	c.answered.Store(true)
	g.mu.Lock()
	defer g.mu.Unlock()
	for conv, cc := range g.convOf {
		if cc == c {
			if t, ok := g.replies[conv]; ok {
				g.replyLat = append(g.replyLat, time.Since(t))
				delete(g.replies, conv)
			}
		}
	}
}

type chatFrame struct {
	Type         string `json:"type"`
	VisitorToken string `json:"visitor_token"`
	Conversation any    `json:"conversation"`
	From         string `json:"from"`
	FrameID      string `json:"frame_id"`
	Text         string `json:"text"`
	Code         string `json:"code"`
}

func (g *gwRun) dialChat(ctx context.Context, i int) (*websocket.Conn, error) {
	ws, resp, err := websocket.DefaultDialer.DialContext(ctx, "ws"+strings.TrimPrefix(g.target(i), "http")+"/chat/ws", nil)
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusServiceUnavailable {
			return nil, errBusy
		}
		return nil, err
	}
	return ws, nil
}

var errBusy = errors.New("gateway busy")

// chat is one web chat visitor: hello, one message, then, once an agent
// joined, a message every MsgEvery until the agent closes the chat.
func (g *gwRun) chat(ctx context.Context, c *contact) {
	ws, err := g.dialChat(ctx, c.i)
	if err != nil {
		g.errs.Add(1)
		return
	}
	defer ws.Close()
	go func() { <-ctx.Done(); ws.Close() }()
	write := func(f map[string]any) error {
		b, _ := json.Marshal(f)
		_ = ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
		return ws.WriteMessage(websocket.TextMessage, b)
	}
	if err := write(map[string]any{"type": "hello", "queue": "support", "name": fmt.Sprintf("Visitor %d", c.i)}); err != nil {
		g.errs.Add(1)
		return
	}
	first := fmt.Sprintf("lg%s %d where is my parcel", g.tag, c.i)
	if err := write(map[string]any{"type": "message", "id": fmt.Sprintf("f_%08d", 0), "text": first}); err != nil {
		g.errs.Add(1)
		return
	}
	var ticker *time.Ticker
	done := make(chan struct{}) // the visitor's writer ends with it
	defer func() {
		if ticker != nil {
			ticker.Stop()
		}
		close(done)
	}()
	var wmu sync.Mutex
	n := 0
	for ctx.Err() == nil {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		var f chatFrame
		if json.Unmarshal(data, &f) != nil {
			continue
		}
		switch f.Type {
		case "message":
			if f.From == "customer" && f.FrameID == "f_00000000" {
				c.acked.CompareAndSwap(0, int64(time.Since(c.sched)))
			} else if f.From == "customer" {
				c.inflight.Add(-1)
				now := time.Now().UnixNano()
				g.stored.Add(1)
				g.firstStored.CompareAndSwap(0, now)
				for last := g.lastStored.Load(); now > last && !g.lastStored.CompareAndSwap(last, now); last = g.lastStored.Load() {
				}
			}
			if f.From == "agent" {
				now := time.Now()
				g.mu.Lock()
				for conv, cc := range g.convOf {
					if cc == c {
						if t, ok := g.replies[conv]; ok {
							g.replyLat = append(g.replyLat, now.Sub(t))
							delete(g.replies, conv)
						}
					}
				}
				g.mu.Unlock()
			}
		case "agent_joined":
			if g.cfg.MsgEvery > 0 && ticker == nil {
				ticker = time.NewTicker(g.cfg.MsgEvery)
				go func(t *time.Ticker) {
					for {
						select {
						case <-t.C:
						case <-done:
							return
						}
						// Counted before the stop check, so quiesce
						// either sees it in flight or it sees stop.
						c.inflight.Add(1)
						if c.stop.Load() {
							c.inflight.Add(-1)
							t.Stop()
							return
						}
						wmu.Lock()
						n++
						text := fmt.Sprintf("lg%s %d message %d", g.tag, c.i, n)
						g.mu.Lock()
						g.msgSent[text] = time.Now()
						g.mu.Unlock()
						g.messages.Add(1)
						err := write(map[string]any{"type": "message", "id": fmt.Sprintf("f_%08d", n), "text": text})
						wmu.Unlock()
						if err != nil {
							c.inflight.Add(-1)
							return
						}
					}
				}(ticker)
			}
		case "error":
			if f.FrameID != "" && f.FrameID != "f_00000000" {
				c.inflight.Add(-1) // refused: it will not be stored
				g.refused.Add(1)
			}
		case "closed":
			return
		}
	}
}

// ---- idle visitors ----

// chatIdle opens ChatIdle visitors within 10 s, each with a conversation
// waiting (no agent is online), lets the gateway settle for Idle, then
// measures it at rest for Idle.
func (g *gwRun) chatIdle(ctx context.Context, rdb *redis.Client, procs []*exec.Cmd) (*IdleResult, error) {
	res := &IdleResult{}
	n := g.cfg.ChatIdle
	g.contacts = make([]*contact, n)
	var open atomic.Int64
	var closedEarly, refused atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	start := time.Now()
	burst := 10 * time.Second
	for i := range n {
		due := start.Add(time.Duration(float64(i) / float64(n) * float64(burst)))
		time.Sleep(time.Until(due))
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			ws, err := g.dialChat(ctx, i)
			if errors.Is(err, errBusy) {
				refused.Add(1)
				return
			}
			if err != nil {
				g.errs.Add(1)
				return
			}
			defer ws.Close()
			b, _ := json.Marshal(map[string]any{"type": "hello", "queue": "support"})
			_ = ws.WriteMessage(websocket.TextMessage, b)
			b, _ = json.Marshal(map[string]any{"type": "message", "id": "f_00000000", "text": fmt.Sprintf("lg%s %d waiting", g.tag, i)})
			_ = ws.WriteMessage(websocket.TextMessage, b)
			open.Add(1)
			go func() { <-done; ws.Close() }()
			for {
				if _, _, err := ws.ReadMessage(); err != nil {
					select {
					case <-done:
					default:
						closedEarly.Add(1)
					}
					return
				}
			}
		})
	}
	g.logf("opened %d visitors in %s (%d refused busy, %d errors)", open.Load(), time.Since(start).Round(time.Millisecond), refused.Load(), g.errs.Load())
	// Let the conversations settle into the queue, then measure at rest.
	time.Sleep(g.cfg.Idle)
	c0 := redisCommands(ctx, rdb)
	t0 := time.Now()
	time.Sleep(g.cfg.Idle)
	res.RedisCommandsPerSec = float64(redisCommands(ctx, rdb)-c0) / time.Since(t0).Seconds()
	res.Visitors, res.Refused, res.ClosedDuringBurst = int(open.Load()), int(refused.Load()), int(closedEarly.Load())
	m := metricsOf(g.targets[0])
	res.RSSMB = m["process_resident_memory_bytes"] / (1 << 20)
	res.Goroutines = int(m["go_goroutines"])
	close(done)
	wg.Wait()
	g.logf("idle: visitors=%d refused=%d closed_during_burst=%d rss=%.0fMB goroutines=%d redis_commands=%.0f/s",
		res.Visitors, res.Refused, res.ClosedDuringBurst, res.RSSMB, res.Goroutines, res.RedisCommandsPerSec)
	return res, nil
}

// metricsOf reads a gateway's /metrics gauges without labels.
func metricsOf(base string) map[string]float64 {
	out := map[string]float64{}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(k, "#") || strings.Contains(k, "{") {
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err == nil {
			out[k] = f
		}
	}
	return out
}

// ---- accounting ----

// doubleOffered counts conversations of this run that the event stream
// shows offered while an earlier offer was still open, or accepted twice.
func doubleOffered(ctx context.Context, rdb *redis.Client, ws string, convs map[string]*contact) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	open := map[string]bool{}
	accepted := map[string]int{}
	bad := map[string]bool{}
	start := "-"
	for {
		msgs, err := rdb.XRangeN(ctx, "sb:{"+ws+"}:events", start, "+", 10000).Result()
		if err != nil {
			return 0, err
		}
		for _, m := range msgs {
			conv, _ := m.Values["conv"].(string)
			if _, ours := convs[conv]; !ours {
				continue
			}
			switch m.Values["type"] {
			case "offered":
				if open[conv] {
					bad[conv] = true
				}
				open[conv] = true
			case "expired", "declined", "abandoned", "accepted":
				if m.Values["type"] == "accepted" {
					accepted[conv]++
					if accepted[conv] > 1 {
						bad[conv] = true
					}
				}
				open[conv] = false
			case "transferred", "closed":
				open[conv] = false
				accepted[conv] = 0
			}
		}
		if len(msgs) < 10000 {
			break
		}
		start = "(" + msgs[len(msgs)-1].ID
	}
	return len(bad), nil
}

// topCommands names the n commands with the highest counts (calls, or
// microseconds) per routed contact ("evalsha 10.2 publish 9.8 …"): where
// the round trips, or Redis's time, go.
func topCommands(byName map[string]int64, per func(float64) float64, n int) string {
	names := make([]string, 0, len(byName))
	for k, v := range byName {
		if v > 0 {
			names = append(names, k)
		}
	}
	slices.SortFunc(names, func(a, b string) int { return cmp.Compare(byName[b], byName[a]) })
	var b strings.Builder
	for i, k := range names {
		if i == n {
			break
		}
		fmt.Fprintf(&b, "%s %.1f ", k, per(float64(byName[k])))
	}
	return strings.TrimSpace(b.String())
}

// redisCommands is the server's total_commands_processed.
func redisCommands(ctx context.Context, c *redis.Client) int64 {
	return redisStat(ctx, c, "total_commands_processed")
}

// redisReads is how many reads from client sockets the Redis server made so
// far (INFO stats total_reads_processed): about one per round trip, however
// many commands a pipeline carried in it.
func redisReads(ctx context.Context, c *redis.Client) int64 {
	return redisStat(ctx, c, "total_reads_processed")
}

// redisStat is one counter of INFO stats.
func redisStat(ctx context.Context, c *redis.Client, name string) int64 {
	info, err := c.Info(ctx, "stats").Result()
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// procsCPU is the CPU time the spawned gateways used so far.
func procsCPU(procs []*exec.Cmd) time.Duration {
	var sum time.Duration
	for _, p := range procs {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Process.Pid))
		if err != nil {
			continue
		}
		// Fields after the command name in parentheses; utime and stime
		// are the 14th and 15th fields, in clock ticks (100 Hz).
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		k, _ := strconv.ParseInt(f[12], 10, 64)
		sum += time.Duration(u+k) * 10 * time.Millisecond
	}
	return sum
}

// ---- spawning ----

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// spawnGateways starts cfg.Spawn gateways on loopback sharing the Redis,
// with one queue taking SMS and chat, agents able to hold many chats, and
// SMS pointed at the fake Twilio.
func spawnGateways(ctx context.Context, cfg GatewayConfig, twilioURL string, agentIDs []string, mail *emailRig) ([]*exec.Cmd, []string, error) {
	dir, err := os.MkdirTemp("", "loadgen-gw-")
	if err != nil {
		return nil, nil, err
	}
	// Routing agents come from the configuration file, as an operator
	// lists them, so that they may hold many chats at once; their accounts
	// are made through the auth service.
	var agents strings.Builder
	for _, id := range agentIDs {
		fmt.Fprintf(&agents, "  - {id: %q, capacity: {chat: 20, sms: 20, voice: 1, email: 20}}\n", id)
	}
	smsYAML := ""
	if cfg.SMSMaxSending > 0 {
		smsYAML = fmt.Sprintf("    max_sending: %d\n", cfg.SMSMaxSending)
	}
	queueChannels, emailYAML := "sms, chat, voice", ""
	if mail != nil {
		queueChannels, emailYAML = queueChannels+", email", mail.yaml()
	}
	yaml := fmt.Sprintf(`queues:
  - name: support
    channels: [%s]
    offer_timeout_seconds: {sms: 10, chat: 10, voice: 10, email: 10}
agents:
%schannels:
  sms:
%s    numbers:
      "%s": support
  voice:
    company: Loadgen
    numbers:
      "%s": support
%s`, queueChannels, agents.String(), smsYAML, cfg.SMSNumber, cfg.VoiceNumber, emailYAML)
	cfgFile := dir + "/switchboard.yaml"
	if err := os.WriteFile(cfgFile, []byte(yaml), 0o600); err != nil {
		return nil, nil, err
	}
	var procs []*exec.Cmd
	var targets []string
	for i := range cfg.Spawn {
		addr, err := freeAddr()
		if err != nil {
			return procs, targets, err
		}
		cmd := exec.Command(cfg.Binary, "serve")
		cmd.Env = append(os.Environ(),
			"REDIS_URL="+cfg.RedisURL, "SWITCHBOARD_LISTEN="+addr, "SWITCHBOARD_PUBLIC_URL=http://"+addr,
			"SWITCHBOARD_CONFIG="+cfgFile, "SWITCHBOARD_DATA_DIR="+fmt.Sprintf("%s/data%d", dir, i),
			"SWITCHBOARD_ADMIN_PASSWORD=loadgen-admin-password", "SWITCHBOARD_WORKSPACE="+cfg.Workspace,
			"TWILIO_ACCOUNT_SID="+cfg.TwilioSID, "TWILIO_AUTH_TOKEN="+cfg.TwilioToken, "TWILIO_API_BASE_URL="+twilioURL,
			"SWITCHBOARD_LOG_LEVEL=warn", "SWITCHBOARD_LOG_FORMAT=text")
		if os.Getenv("LOADGEN_PPROF") != "" && i == 0 {
			cmd.Env = append(cmd.Env, "SWITCHBOARD_PPROF_LISTEN="+os.Getenv("LOADGEN_PPROF"))
		}
		logf, err := os.Create(fmt.Sprintf("%s/gateway%d.log", dir, i))
		if err != nil {
			return procs, targets, err
		}
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			return procs, targets, fmt.Errorf("start %s: %w", cfg.Binary, err)
		}
		procs = append(procs, cmd)
		targets = append(targets, "http://"+addr)
	}
	for _, t := range targets {
		deadline := time.Now().Add(30 * time.Second)
		for {
			resp, err := http.Get(t + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return procs, targets, fmt.Errorf("gateway %s not ready in 30s (logs in %s)", t, dir)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	fmt.Fprintf(cfg.Log, "spawned %d gateways: %s (logs in %s)\n", len(targets), strings.Join(targets, " "), dir)
	return procs, targets, nil
}

type fakeTwilio struct {
	url  string
	stop func()
	// asked counts messages sent to it, busy those it answered 429.
	asked, busy atomic.Int64
}

// startFakeTwilio answers the Messages resource of the Twilio REST API as
// Twilio does for a queued message, after delay, and reports each message
// sent. With limit > 0 it answers 429 to a message that finds limit others
// being answered, as Twilio does past an account's concurrency limit.
func startFakeTwilio(sid string, delay time.Duration, limit int, onMessage func(to, body string, callback bool)) (*fakeTwilio, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ft := &fakeTwilio{url: "http://" + l.Addr().String()}
	var n, answering atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && (strings.HasPrefix(r.URL.Path, "/2010-04-01/Accounts/"+sid+"/Calls/") ||
			strings.HasPrefix(r.URL.Path, "/2010-04-01/Accounts/"+sid+"/Queues/")) {
			// The voice channel taking a queued call out to its agent.
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"sid": strings.TrimSuffix(path.Base(r.URL.Path), ".json"),
				"account_sid": sid, "status": "in-progress"})
			return
		}
		if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+sid+"/Messages.json" {
			http.NotFound(w, r)
			return
		}
		_ = r.ParseForm()
		to, body := r.PostForm.Get("To"), r.PostForm.Get("Body")
		ft.asked.Add(1)
		if k := answering.Add(1); limit > 0 && k > int64(limit) {
			answering.Add(-1)
			ft.busy.Add(1)
			time.Sleep(delay)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			_ = json.NewEncoder(w).Encode(map[string]any{"code": 20429, "message": "Too Many Requests", "status": 429})
			return
		}
		defer answering.Add(-1)
		time.Sleep(delay) // Twilio is a network away
		onMessage(to, body, r.PostForm.Get("StatusCallback") != "")
		msid := fmt.Sprintf("SM%032d", n.Add(1))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"sid": msid, "account_sid": sid, "to": to,
			"from": r.PostForm.Get("From"), "body": body, "status": "queued", "num_segments": "1"})
	})}
	go func() { _ = srv.Serve(l) }()
	ft.stop = func() { _ = srv.Close() }
	return ft, nil
}
