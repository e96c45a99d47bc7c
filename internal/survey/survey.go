package survey

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/hours"
)

//go:embed lua/*.lua
var luaFiles embed.FS

func script(name string) *redis.Script {
	b, err := luaFiles.ReadFile("lua/" + name)
	if err != nil {
		panic(err) // embedded at build time
	}
	return redis.NewScript(string(b))
}

var (
	scriptSchedule = script("schedule.lua")
	scriptClaim    = script("claim.lua")
	scriptRate     = script("rate.lua")
	scriptSent     = script("sent.lua")
)

// Disposition is the close that earns a survey; spam, abandoned and every
// other close get none.
const Disposition = "resolved"

// GoodScore is the rating from which a customer counts as satisfied (CSAT
// is the share of 4s and 5s).
const GoodScore = 4

// Survey states.
const (
	StateScheduled = "scheduled"
	StateSent      = "sent"
	StateAnswered  = "answered"
	StateFailed    = "failed"
)

// Sender delivers one message on a channel: the channels' own Send.
type Sender interface {
	Send(ctx context.Context, out channel.Outbound) (channel.SendResult, error)
}

// ChatAsker shows the question inline in the visitor's widget, with five
// buttons and a comment field. The web chat channel implements it.
type ChatAsker interface {
	AskRating(ctx context.Context, conversationID, text string) error
}

// Recorder adds a line to a conversation's transcript, for agents only
// (the desk's channel.Core Record).
type Recorder interface {
	Record(ctx context.Context, conversationID, event, text string) error
}

// Rating is one customer's answer.
type Rating struct {
	ConversationID string
	CustomerID     string
	AgentID        string
	Queue          string
	Channel        string
	Score          int
	Comment        string
	At             time.Time
}

// ratingsMaxLen caps the ratings stream (EventsKey), approximately.
const ratingsMaxLen = 100_000

// EventsKey is the Redis stream with one entry per rating, written by the
// script that records it, for consumers in other processes (webhooks);
// RatingFrom decodes an entry.
func (s *Service) EventsKey() string { return s.k.events() }

// RatingFrom decodes one entry of the ratings stream (field values as
// go-redis returns them).
func RatingFrom(v map[string]any) Rating {
	str := func(k string) string { s, _ := v[k].(string); return s }
	score, _ := strconv.Atoi(str("score"))
	at, _ := strconv.ParseInt(str("at"), 10, 64)
	return Rating{ConversationID: str("conv"), CustomerID: str("customer"), AgentID: str("agent"), Queue: str("queue"),
		Channel: str("channel"), Score: score, Comment: str("comment"), At: time.UnixMilli(at).UTC()}
}

// Rater hears of every rating once (service recovery).
type Rater interface {
	Rated(ctx context.Context, r Rating) error
}

// Params build a Service. Redis and Workspace are required.
type Params struct {
	Redis     redis.UniversalClient
	Workspace string
	Config    Config
	// Location is the workspace's zone: quiet hours and figure days. Nil: UTC.
	Location *time.Location
	// Recorder notes a sent question in the transcript. Nil: no note.
	Recorder Recorder
	// Rater hears of ratings. Nil: nobody.
	Rater Rater
	// PublicURL is where customers reach the rating page; Secret signs its
	// links (at least 32 bytes). Without both, email gets no question.
	PublicURL string
	Secret    []byte
	// Poll is how often due questions are looked for. Zero: 1s.
	Poll time.Duration
	// Now is the clock. Nil: time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Service schedules, sends and reads surveys. Any number of gateways run
// one each against the same Redis.
type Service struct {
	p       Params
	k       keys
	send    *hours.Schedule
	senders map[channel.Name]Sender
	chat    ChatAsker
	log     *slog.Logger
	metrics *Metrics
}

// New checks p and builds a Service.
func New(p Params) (*Service, error) {
	if p.Redis == nil || p.Workspace == "" {
		return nil, errors.New("survey: Params.Redis and Workspace are required")
	}
	if err := p.Config.Validate(); err != nil {
		return nil, fmt.Errorf("survey: %w", err)
	}
	if p.Secret != nil && len(p.Secret) < 32 {
		return nil, errors.New("survey: Params.Secret must be at least 32 bytes")
	}
	w := p.Config.SendHours
	if w == nil || len(w.Open) == 0 {
		w = defaultSendHours
	}
	sched, err := hours.Compile(w, p.Location)
	if err != nil {
		return nil, fmt.Errorf("survey: send_hours: %w", err)
	}
	if p.Poll <= 0 {
		p.Poll = time.Second
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Location == nil {
		p.Location = time.UTC
	}
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p.PublicURL = strings.TrimRight(p.PublicURL, "/")
	return &Service{p: p, k: keys{p.Workspace}, send: sched, senders: map[channel.Name]Sender{}, log: log, metrics: NewMetrics()}, nil
}

// AddSender registers a channel's sender (the wiring passes each channel).
// Call before Run.
func (s *Service) AddSender(name channel.Name, snd Sender) {
	s.senders[name] = snd
	if a, ok := snd.(ChatAsker); ok && name == channel.Chat {
		s.chat = a
	}
}

// SetRater sets who hears of ratings; call before Run.
func (s *Service) SetRater(r Rater) { s.p.Rater = r }

// Metrics are the service's Prometheus series.
func (s *Service) Metrics() *Metrics { return s.metrics }

// Off reports that surveys are switched off (Config.Off).
func (s *Service) Off() bool { return s.p.Config.Off }

// Closed schedules the thank-you and question for a conversation that was
// just closed; agentName is the first name of the agent who served it. It
// is a no-op for other dispositions, for a conversation nobody served, and
// when the conversation's survey exists already (retries, several
// gateways): one survey per conversation.
func (s *Service) Closed(ctx context.Context, conv conversation.Conversation, agentName string) error {
	// A conversation closed from the queue was only ever offered: its
	// record may name the agent it was offered to, who never served it.
	if s.p.Config.Off || conv.Disposition != Disposition || conv.AgentID == "" || conv.ClosedFrom != conversation.FromHandled {
		return nil
	}
	askOn, from := conv.Channel, conv.OurAddress
	switch conv.Channel {
	case channel.Voice:
		// Callers are texted from the configured number, when there is one.
		if s.p.Config.VoiceSMSFrom == "" {
			return nil
		}
		askOn, from = channel.SMS, s.p.Config.VoiceSMSFrom
	case channel.Email:
		if s.p.PublicURL == "" || len(s.p.Secret) == 0 {
			return nil
		}
	}
	closed := conv.ClosedAt
	if closed.IsZero() {
		closed = s.p.Now()
	}
	due := s.dueTime(conv.Channel, closed)
	ok, err := scriptSchedule.Run(ctx, s.p.Redis, []string{s.k.survey(conv.ID), s.k.due()},
		conv.ID, due.UnixMilli(),
		"conv", conv.ID, "customer", conv.CustomerID, "channel", string(conv.Channel), "ask", string(askOn),
		"to", conv.CustomerAddress, "from", from, "thread", conv.ThreadHint, "queue", conv.Queue,
		"agent", conv.AgentID, "agent_name", agentName, "closed_at", closed.UnixMilli()).Int()
	if err != nil {
		return fmt.Errorf("survey: schedule %s: %w", conv.ID, err)
	}
	if ok == 1 {
		s.log.Debug("survey scheduled", "conv", conv.ID, "due", due)
	}
	return nil
}

// dueTime is the close plus the channel's delay, moved past quiet hours
// (chat is asked at once while the visitor is on the page).
func (s *Service) dueTime(ch channel.Name, closed time.Time) time.Time {
	due := closed.Add(s.p.Config.Delay(string(ch)))
	if ch == channel.Chat || s.send.IsOpen(due) {
		return due
	}
	if next, ok := s.send.NextOpen(due); ok {
		return next
	}
	return due
}

// Lease is how long a gateway holds a claimed survey while it sends; a
// gateway that dies sending leaves it due again after this.
const Lease = 60 * time.Second

// maxAttempts bounds the sends of one survey that fail temporarily.
const maxAttempts = 5

// Run sends due surveys until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.p.Poll)
	defer t.Stop()
	for {
		if _, err := s.SendDue(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("survey: send due", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// SendDue claims and sends the surveys due now; it returns how many it
// claimed. Exported for tests and for a gateway that wants no loop.
func (s *Service) SendDue(ctx context.Context) (int, error) {
	res, err := scriptClaim.Run(ctx, s.p.Redis, []string{s.k.due()},
		s.p.Now().UnixMilli(), Lease.Milliseconds(), 20, s.k.prefix()).StringSlice()
	if err != nil {
		return 0, fmt.Errorf("survey: claim: %w", err)
	}
	for i := 0; i+1 < len(res); i += 2 {
		attempt, _ := strconv.Atoi(res[i+1])
		if err := s.sendOne(ctx, res[i], attempt); err != nil {
			s.log.Warn("survey: send", "conv", res[i], "attempt", attempt, "err", err)
		}
	}
	return len(res) / 2, nil
}

// sendOne sends a claimed survey and records the outcome.
func (s *Service) sendOne(ctx context.Context, convID string, attempt int) error {
	h, err := s.p.Redis.HGetAll(ctx, s.k.survey(convID)).Result()
	if err != nil {
		return fmt.Errorf("survey: read %s: %w", convID, err)
	}
	if h["state"] != StateScheduled {
		// Sent already (a lease that outlived a slow send): nothing to do.
		return s.p.Redis.ZRem(ctx, s.k.due(), convID).Err()
	}
	// A chat visitor's buttons answer within milliseconds, maybe before
	// markSent: the survey is marked as being asked, with its day, before
	// the question leaves, so rate.lua takes that answer. The question is
	// kept with it, so a page that shows it inline can ask again after a
	// reload (OpenQuestion).
	now := s.p.Now()
	day := now.In(s.p.Location).Format(time.DateOnly)
	text, how, err := s.question(convID, h)
	if err == nil {
		if err := s.p.Redis.HSet(ctx, s.k.survey(convID), "asking", "1", "day", day, "question", text).Err(); err != nil {
			return fmt.Errorf("survey: mark %s as asked: %w", convID, err)
		}
		err = s.deliver(ctx, convID, h, text)
	}
	switch {
	case err == nil:
		return s.markSent(ctx, convID, h, now, day, text, how)
	case errors.Is(err, channel.ErrTemporary) && attempt < maxAttempts:
		back := time.Duration(attempt*attempt) * 30 * time.Second
		return s.p.Redis.ZAdd(ctx, s.k.due(), redis.Z{Score: float64(s.p.Now().Add(back).UnixMilli()), Member: convID}).Err()
	}
	pipe := s.p.Redis.TxPipeline()
	pipe.HSet(ctx, s.k.survey(convID), "state", StateFailed, "error", err.Error())
	pipe.ZRem(ctx, s.k.due(), convID)
	if _, perr := pipe.Exec(ctx); perr != nil {
		return fmt.Errorf("survey: record failure of %s: %w", convID, perr)
	}
	s.note(ctx, convID, "Satisfaction survey not sent: "+err.Error())
	return nil
}

// question is the text a survey asks in its channel and a word for the
// transcript ("by SMS").
func (s *Service) question(convID string, h map[string]string) (text, how string, err error) {
	w := s.p.Config.words(h["queue"])
	agent := h["agent_name"]
	switch channel.Name(h["channel"]) {
	case channel.Chat:
		return render(w.Chat, agent), "in the chat", nil
	case channel.Email:
		return strings.ReplaceAll(render(w.EmailBody, agent), "{link}", s.links(convID)), "by email", nil
	case channel.SMS, channel.Voice:
		return render(w.SMS, agent), "by SMS", nil
	}
	return "", "", fmt.Errorf("no survey on channel %q", h["channel"])
}

// deliver sends the question text on the survey's channel.
func (s *Service) deliver(ctx context.Context, convID string, h map[string]string, text string) error {
	if channel.Name(h["channel"]) == channel.Chat {
		if s.chat == nil {
			return errors.New("web chat is off")
		}
		return s.chat.AskRating(ctx, convID, text)
	}
	return s.sendVia(ctx, channel.Outbound{ConversationID: convID, MessageID: "sv_" + convID, Channel: channel.Name(h["ask"]),
		From: h["from"], To: h["to"], ThreadHint: h["thread"], Attempt: 1, Text: text})
}

func (s *Service) sendVia(ctx context.Context, out channel.Outbound) error {
	snd := s.senders[out.Channel]
	if snd == nil {
		return fmt.Errorf("the %s channel is off", out.Channel)
	}
	_, err := snd.Send(ctx, out)
	return err
}

// markSent records the sent survey, opens its reply window and counts it.
func (s *Service) markSent(ctx context.Context, convID string, h map[string]string, now time.Time, day, text, how string) error {
	fig := s.k.fig(day)
	pipe := s.p.Redis.TxPipeline()
	// sent.lua, not HSET: an answer that came first stays answered.
	scriptSent.Eval(ctx, pipe, []string{s.k.survey(convID)}, StateSent, now.UnixMilli())
	pipe.ZRem(ctx, s.k.due(), convID)
	if h["channel"] != string(channel.Chat) {
		// Chat ratings come from the widget's buttons, not typed text.
		pipe.Set(ctx, s.k.open(h["ask"], h["to"]), convID, s.p.Config.Window())
	}
	for _, dim := range dims(h) {
		pipe.HIncrBy(ctx, fig, "sent|"+dim, 1)
	}
	pipe.Expire(ctx, fig, figureTTL)
	pipe.Expire(ctx, s.k.survey(convID), surveyTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("survey: record sent %s: %w", convID, err)
	}
	s.metrics.sent.WithLabelValues(h["queue"], h["channel"]).Inc()
	s.note(ctx, convID, "Satisfaction survey sent "+how+": "+text)
	return nil
}

// How long survey records and daily figures are kept.
const (
	surveyTTL = 400 * 24 * time.Hour
	figureTTL = 400 * 24 * time.Hour
)

// dims are the figure dimensions a survey counts in.
func dims(h map[string]string) []string {
	return []string{"all|", "q|" + h["queue"], "a|" + h["agent"], "c|" + h["channel"]}
}

func (s *Service) note(ctx context.Context, convID, text string) {
	if s.p.Recorder == nil {
		return
	}
	if err := s.p.Recorder.Record(ctx, convID, "survey", text); err != nil {
		s.log.Warn("survey: transcript note", "conv", convID, "err", err)
	}
}

// Match is what a customer's inbound message meant to the survey.
type Match struct {
	// ConversationID and CustomerID are the surveyed conversation's.
	ConversationID string
	CustomerID     string
	// Score is the rating recorded (or recorded before from this very
	// delivery); 0 when the message rated nothing.
	Score int
	// Consumed is set for a bare rating: it must not open a conversation.
	// Any other text goes on to a person as a message.
	Consumed bool
}

// Reply reads an inbound message from a customer with a survey open on
// that channel and address: a rating 1–5 at its start is recorded once.
// A redelivery of the same provider id gets the same answer, so a retried
// webhook neither rates twice nor opens a conversation.
func (s *Service) Reply(ctx context.Context, in channel.Inbound) (Match, error) {
	if s.p.Config.Off {
		return Match{}, nil
	}
	addr, err := conversation.NormalizeAddress(in.Channel, in.From)
	if err != nil {
		return Match{}, nil // the conversation service explains bad addresses
	}
	// Read the text first: a message that is no rating is nothing to the
	// survey, whatever is open, and that is nearly every message.
	r := ParseReply(in.Text)
	if r.Score == 0 {
		return Match{}, nil
	}
	convID, err := s.p.Redis.Get(ctx, s.k.open(string(in.Channel), addr)).Result()
	if errors.Is(err, redis.Nil) {
		return Match{}, nil
	}
	if err != nil {
		return Match{}, fmt.Errorf("survey: open survey of %s: %w", in.Channel, err)
	}
	rated, err := s.rate(ctx, convID, r.Score, r.Comment, in.ProviderID)
	if err != nil || !rated.ok {
		return Match{}, err
	}
	return Match{ConversationID: convID, CustomerID: rated.customer, Score: r.Score, Consumed: r.Bare()}, nil
}

// ErrNotFound: no sent survey for that conversation.
var ErrNotFound = errors.New("survey: no survey for this conversation")

// ErrRated: the survey was answered already; a survey takes one rating.
var ErrRated = errors.New("survey: already rated")

// Rate records a rating given on the email page or in the chat widget.
// ErrNotFound without a sent survey, ErrRated after the first rating.
func (s *Service) Rate(ctx context.Context, convID string, score int, comment string) error {
	if score < 1 || score > 5 {
		return fmt.Errorf("survey: score %d: want 1 to 5", score)
	}
	comment = strings.TrimSpace(strings.ToValidUTF8(comment, "\uFFFD"))
	if len(comment) > 2000 {
		comment = comment[:2000]
		comment = strings.ToValidUTF8(comment, "")
	}
	res, err := s.rate(ctx, convID, score, comment, "")
	if err != nil {
		return err
	}
	switch {
	case res.none:
		return ErrNotFound
	case !res.ok:
		return ErrRated
	}
	return nil
}

type rateResult struct {
	ok, none bool
	customer string
}

// rate records the rating once; ok is also set for a redelivery of the
// reply that rated (same non-empty provider id).
func (s *Service) rate(ctx context.Context, convID string, score int, comment, replyID string) (rateResult, error) {
	now := s.p.Now()
	res, err := scriptRate.Run(ctx, s.p.Redis, []string{s.k.survey(convID), s.k.events()},
		score, comment, now.UnixMilli(), replyID, s.k.prefix()+"fig:", GoodScore, convID, ratingsMaxLen).StringSlice()
	if err != nil {
		return rateResult{}, fmt.Errorf("survey: rate %s: %w", convID, err)
	}
	switch res[0] {
	case "none":
		return rateResult{none: true}, nil
	case "dup":
		if replyID != "" && len(res) > 1 && res[1] == replyID {
			cust, _ := s.p.Redis.HGet(ctx, s.k.survey(convID), "customer").Result()
			return rateResult{ok: true, customer: cust}, nil
		}
		return rateResult{}, nil
	}
	h, err := s.p.Redis.HGetAll(ctx, s.k.survey(convID)).Result()
	if err != nil {
		return rateResult{}, fmt.Errorf("survey: read %s: %w", convID, err)
	}
	s.metrics.ratings.WithLabelValues(h["queue"], h["channel"], h["agent"], strconv.Itoa(score)).Inc()
	stars := strconv.Itoa(score) + "/5"
	if comment != "" {
		s.note(ctx, convID, "Customer rated "+stars+": "+comment)
	} else {
		s.note(ctx, convID, "Customer rated "+stars)
	}
	if s.p.Rater != nil {
		r := Rating{ConversationID: convID, CustomerID: h["customer"], AgentID: h["agent"], Queue: h["queue"],
			Channel: h["channel"], Score: score, Comment: comment, At: now}
		if err := s.p.Rater.Rated(ctx, r); err != nil {
			s.log.Warn("survey: rating not passed on", "conv", convID, "err", err)
		}
	}
	return rateResult{ok: true, customer: h["customer"]}, nil
}

// Survey is one conversation's survey as the API shows it.
type Survey struct {
	ConversationID string    `json:"conversation_id"`
	State          string    `json:"state"`
	Channel        string    `json:"channel"`
	Due            time.Time `json:"due,omitzero"`
	SentAt         time.Time `json:"sent_at,omitzero"`
	Score          int       `json:"score,omitempty"`
	Comment        string    `json:"comment,omitempty"`
	RatedAt        time.Time `json:"rated_at,omitzero"`
	Error          string    `json:"error,omitempty"`
	// Question is the text sent, once it was.
	Question string `json:"question,omitempty"`
}

// Get returns a conversation's survey; ErrNotFound when it has none.
func (s *Service) Get(ctx context.Context, convID string) (Survey, error) {
	h, err := s.p.Redis.HGetAll(ctx, s.k.survey(convID)).Result()
	if err != nil {
		return Survey{}, fmt.Errorf("survey: read %s: %w", convID, err)
	}
	if len(h) == 0 {
		return Survey{}, ErrNotFound
	}
	score, _ := strconv.Atoi(h["score"])
	return Survey{ConversationID: convID, State: h["state"], Channel: h["channel"], Due: fromMS(h["due"]),
		SentAt: fromMS(h["sent_at"]), Score: score, Comment: h["comment"], RatedAt: fromMS(h["rated_at"]), Error: h["error"],
		Question: h["question"]}, nil
}

// OpenQuestion returns the question of a conversation's survey while the
// customer can answer it: being asked or sent (what rate.lua takes), not
// answered, and within the reply window. ok is false otherwise (no survey,
// not asked yet, answered, failed, or too late), so a page asks again only
// what an answer would still count for.
func (s *Service) OpenQuestion(ctx context.Context, convID string) (question string, ok bool, err error) {
	h, err := s.p.Redis.HMGet(ctx, s.k.survey(convID), "state", "asking", "question", "sent_at").Result()
	if err != nil {
		return "", false, fmt.Errorf("survey: read %s: %w", convID, err)
	}
	state, _ := h[0].(string)
	asking, _ := h[1].(string)
	question, _ = h[2].(string)
	sentAt, _ := h[3].(string)
	open := state == StateSent || (state == StateScheduled && asking == "1")
	if !open || question == "" {
		return "", false, nil
	}
	if at := fromMS(sentAt); !at.IsZero() && s.p.Now().Sub(at) > s.p.Config.Window() {
		return "", false, nil
	}
	return question, true, nil
}

func fromMS(v string) time.Time {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}

// EndWindow ends the reply window of address on ch: the customer opened a
// new conversation there, so what they type next answers the agent.
func (s *Service) EndWindow(ctx context.Context, ch channel.Name, address string) error {
	if err := s.p.Redis.Del(ctx, s.k.open(string(ch), address)).Err(); err != nil {
		return fmt.Errorf("survey: end window: %w", err)
	}
	return nil
}
