// Package stats folds the routing event stream into the figures supervisors
// watch: waiting, answered, abandoned, average speed of answer, service
// level, handle time, missed offers and whether the wait we promised was
// kept. Folding is deterministic, so every gateway that reads the same
// events shows the same numbers, and a restarted gateway rebuilds them by
// reading the stream again.
//
// A [Folder] does the arithmetic; a [Service] runs one per gateway: it folds
// today's events from the stream, follows it live, and answers the
// supervisor view ([Service.Board]), the history API
// ([Service.HistoryHandler]) and Prometheus ([Metrics]). The routing engine
// reaches it through the small [Source] interface, so this package does
// not import routing.
package stats

import (
	"sort"
	"time"

	"github.com/switchboard/switchboard/internal/hours"
)

// EventType is the kind of routing event a Folder understands. The names
// match the routing package's event types; others are ignored.
type EventType string

// The event types that move the figures.
const (
	Enqueued    EventType = "enqueued"
	Offered     EventType = "offered"
	Accepted    EventType = "accepted"
	Declined    EventType = "declined"
	Expired     EventType = "expired"
	Abandoned   EventType = "abandoned"
	Closed      EventType = "closed"
	Transferred EventType = "transferred"
	Estimated   EventType = "estimated"
	// AgentStateChanged and AgentAwayMissedOffers concern agents, not
	// conversations: the first ends a missed-offers alert, the second
	// raises it.
	AgentStateChanged     EventType = "agent_state"
	AgentAwayMissedOffers EventType = "agent_away_missed_offers"
)

// Event is one routing event as the folder needs it.
type Event struct {
	// ID is the stream id ("<ms>-<seq>"); the folder does not need it, the
	// Service resumes from it.
	ID             string
	Type           EventType
	ConversationID string
	Queue          string
	Channel        string
	AgentID        string
	At             time.Time
	// EnqueuedAt is the conversation's original enqueue time when the event
	// carries it (transfers keep it); zero means "use what was seen".
	EnqueuedAt time.Time
	// EstimateLow and EstimateHigh are the wait range promised to the
	// customer, on Estimated events.
	EstimateLow, EstimateHigh time.Duration
	// ToQueue is the destination of a transfer.
	ToQueue string
	// Wait is the wait the event carries (accepted, abandoned). It is used
	// only for a conversation whose enqueue fell before the events read,
	// so that a fold started mid-stream still counts answers correctly.
	Wait time.Duration
	// Handle is the handle time a closed event carries, used likewise when
	// the accept was not seen.
	Handle time.Duration
	// State is the agent's new state on AgentStateChanged.
	State string
	// Reason is routing's reason; on Expired, "timeout" (or none) is a
	// missed offer, anything else ("agent away", "agent offline") an offer
	// withdrawn, which nobody missed.
	Reason string
	// ClosedInQueue, on Abandoned, says staff closed the conversation
	// before anyone answered it (spam closed from the queue): no customer
	// abandoned it, so it is counted apart, never as an abandon.
	ClosedInQueue bool
}

// Thresholds say what "on time" means for one queue.
type Thresholds struct {
	// ServiceLevel is the answer-time target (e.g. 20 s).
	ServiceLevel time.Duration
	// ShortAbandon is the wait below which an abandon is not held against
	// the queue (a misdial, a customer who changed their mind). Zero counts
	// every abandon.
	ShortAbandon time.Duration
}

// Key names one row of figures.
type Key struct {
	Queue   string
	Channel string
}

// Counts are the raw sums a figure is computed from; they add up across
// intervals and gateways.
type Counts struct {
	Entered           int
	Offered           int
	Answered          int
	AnsweredInSL      int
	Abandoned         int // excluding short abandons
	AbandonedInSL     int // abandoned (not short) within the service-level threshold
	ShortAbandoned    int
	TransferredOut    int
	MissedOffers      int // lapsed without an answer (timeout)
	Declined          int // declined by the agent, counted apart from misses
	Closed            int
	ClosedInQueue     int           // closed by staff before an answer (spam): neither answered nor abandoned
	TotalWait         time.Duration // over answered
	TotalHandle       time.Duration // over closed
	EstimatesGiven    int           // answered conversations that were promised a range
	EstimatesKept     int           // ... and answered within its upper bound
	LongestAnswerWait time.Duration
}

// Add sums o into c.
func (c *Counts) Add(o Counts) {
	c.Entered += o.Entered
	c.Offered += o.Offered
	c.Answered += o.Answered
	c.AnsweredInSL += o.AnsweredInSL
	c.Abandoned += o.Abandoned
	c.AbandonedInSL += o.AbandonedInSL
	c.ShortAbandoned += o.ShortAbandoned
	c.TransferredOut += o.TransferredOut
	c.MissedOffers += o.MissedOffers
	c.Declined += o.Declined
	c.Closed += o.Closed
	c.ClosedInQueue += o.ClosedInQueue
	c.TotalWait += o.TotalWait
	c.TotalHandle += o.TotalHandle
	c.EstimatesGiven += o.EstimatesGiven
	c.EstimatesKept += o.EstimatesKept
	if o.LongestAnswerWait > c.LongestAnswerWait {
		c.LongestAnswerWait = o.LongestAnswerWait
	}
}

// ASA is the average speed of answer: total wait of answered ÷ answered.
func (c Counts) ASA() time.Duration {
	if c.Answered == 0 {
		return 0
	}
	return c.TotalWait / time.Duration(c.Answered)
}

// ServiceLevel is answered within the threshold ÷ answered; ok is false
// when nothing was answered (no figure, rather than a fake 100 %).
func (c Counts) ServiceLevel() (float64, bool) {
	if c.Answered == 0 {
		return 0, false
	}
	return float64(c.AnsweredInSL) / float64(c.Answered), true
}

// ServiceLevelWithAbandons is (answered within threshold + abandoned within
// threshold) ÷ (answered + abandoned), short abandons excluded.
func (c Counts) ServiceLevelWithAbandons() (float64, bool) {
	d := c.Answered + c.Abandoned
	if d == 0 {
		return 0, false
	}
	return float64(c.AnsweredInSL+c.AbandonedInSL) / float64(d), true
}

// AbandonRate is abandoned (short ones excluded) ÷ entered, less those
// staff closed in the queue: a customer who never meant to be served (spam)
// could neither abandon nor be kept, and would make the rate look better.
// A period holding such closes of contacts that entered before it may
// have nothing left to divide by: no figure then.
func (c Counts) AbandonRate() (float64, bool) {
	d := c.Entered - c.ClosedInQueue
	if d <= 0 {
		return 0, false
	}
	return float64(c.Abandoned) / float64(d), true
}

// AHT is the average handle time (accept to close) of closed conversations.
func (c Counts) AHT() time.Duration {
	if c.Closed == 0 {
		return 0
	}
	return c.TotalHandle / time.Duration(c.Closed)
}

// EstimateAccuracy is the share of promised customers answered within the
// range's upper bound.
func (c Counts) EstimateAccuracy() (float64, bool) {
	if c.EstimatesGiven == 0 {
		return 0, false
	}
	return float64(c.EstimatesKept) / float64(c.EstimatesGiven), true
}

// AgentCounts are one agent's sums for an interval.
type AgentCounts struct {
	Answered     int
	Handled      int           // closed by or on the agent
	TotalHandle  time.Duration // over handled
	MissedOffers int           // lapsed without an answer (timeout)
	Declined     int           // declined, counted apart from misses
}

// Add sums o into c.
func (c *AgentCounts) Add(o AgentCounts) {
	c.Answered += o.Answered
	c.Handled += o.Handled
	c.TotalHandle += o.TotalHandle
	c.MissedOffers += o.MissedOffers
	c.Declined += o.Declined
}

// AHT is the agent's average handle time over handled conversations.
func (c AgentCounts) AHT() time.Duration {
	if c.Handled == 0 {
		return 0
	}
	return c.TotalHandle / time.Duration(c.Handled)
}

// convState is what the folder remembers of one live conversation.
type convState struct {
	key        Key
	enqueuedAt time.Time
	acceptedAt time.Time
	estimate   time.Duration // upper bound promised; 0 = none
	promised   bool
	// answered stays true across a transfer to another agent of the same
	// queue, so the second accept is not counted as a second answer.
	answered bool
	// seen is the time of the last event about the conversation; Prune
	// forgets conversations whose end the stream never told us.
	seen time.Time
	// offeredTo is the agent with the open offer, if any.
	offeredTo string
	// offered is set by the first offer since entering the current queue.
	offered bool
}

// Observation kinds: one countable moment of a conversation each.
const (
	ObsEntered   = "entered"   // entered a queue (new or transferred in)
	ObsOffered   = "offered"   // first offered to an agent; Duration: since entering
	ObsAnswered  = "answered"  // accepted the first time; Duration: the wait
	ObsAbandoned = "abandoned" // the customer left while waiting; Duration: the wait
	ObsClosed    = "closed"    // finished; Duration: the handle time
	// ObsClosedInQueue: staff closed it while it waited; Duration: the wait.
	ObsClosedInQueue = "closed_in_queue"
)

// Observation is one countable moment the fold meets, for counters and
// histograms (the metrics): what happened, to which queue and channel,
// when (the event's time) and how long it took.
type Observation struct {
	Kind     string
	Key      Key
	At       time.Time
	Duration time.Duration
}

// Folder accumulates events into per-interval counts. It is not safe for
// concurrent use; the owner serializes Apply calls.
type Folder struct {
	// Observe, when set, is told of each countable moment as it is
	// folded (the counters and histograms of the metrics).
	Observe func(Observation)
	// Location is where Series' intervals are counted from local midnight
	// and days are calendar days. Nil: UTC.
	Location *time.Location

	interval   time.Duration
	thresholds func(queue string) Thresholds
	convs      map[string]*convState
	buckets    map[time.Time]map[Key]*Counts
	agents     map[time.Time]map[string]*AgentCounts
	// awayMissed holds agents set away by missed offers, with when, until
	// their next state change.
	awayMissed map[string]time.Time
}

// NewFolder returns a Folder bucketing by interval (e.g. time.Minute);
// thresholds gives each queue's targets.
func NewFolder(interval time.Duration, thresholds func(queue string) Thresholds) *Folder {
	if interval <= 0 {
		interval = time.Minute
	}
	return &Folder{interval: interval, thresholds: thresholds,
		convs: map[string]*convState{}, buckets: map[time.Time]map[Key]*Counts{},
		agents: map[time.Time]map[string]*AgentCounts{}, awayMissed: map[string]time.Time{}}
}

func (f *Folder) agent(at time.Time, id string) *AgentCounts {
	if id == "" {
		// Nobody to credit; a throwaway keeps the callers simple.
		return &AgentCounts{}
	}
	b := at.Truncate(f.interval)
	m := f.agents[b]
	if m == nil {
		m = map[string]*AgentCounts{}
		f.agents[b] = m
	}
	c := m[id]
	if c == nil {
		c = &AgentCounts{}
		m[id] = c
	}
	return c
}

func (f *Folder) counts(at time.Time, k Key) *Counts {
	b := at.Truncate(f.interval)
	m := f.buckets[b]
	if m == nil {
		m = map[Key]*Counts{}
		f.buckets[b] = m
	}
	c := m[k]
	if c == nil {
		c = &Counts{}
		m[k] = c
	}
	return c
}

// Apply folds one event. Events must come in stream order; one that refers
// to a conversation never seen enqueued (its enqueue fell before the window
// read) still counts, with the wait it carries or none.
func (f *Folder) Apply(e Event) {
	k := Key{Queue: e.Queue, Channel: e.Channel}
	cs := f.convs[e.ConversationID]
	if cs != nil {
		cs.seen = e.At
	}
	switch e.Type {
	case AgentAwayMissedOffers:
		f.awayMissed[e.AgentID] = e.At
	case AgentStateChanged:
		// The away-by-missed-offers state change itself comes just before
		// its alert event, so only a later change ends the alert.
		if t, ok := f.awayMissed[e.AgentID]; ok && e.At.After(t) {
			delete(f.awayMissed, e.AgentID)
		}
	case Enqueued:
		at := e.EnqueuedAt
		if at.IsZero() {
			at = e.At
		}
		f.convs[e.ConversationID] = &convState{key: k, enqueuedAt: at, seen: e.At}
		f.counts(e.At, k).Entered++
		f.observe(ObsEntered, k, e.At, 0)
	case Estimated:
		if cs != nil {
			cs.estimate, cs.promised = e.EstimateHigh, true
		}
	case Offered:
		f.counts(e.At, f.keyOf(cs, k)).Offered++
		if cs != nil {
			cs.offeredTo = e.AgentID
			if !cs.offered && !cs.answered {
				cs.offered = true
				f.observe(ObsOffered, cs.key, e.At, f.waitOf(cs, e))
			}
		}
	case Declined, Expired:
		if cs != nil {
			cs.offeredTo = ""
		}
		if e.Type == Expired && e.Reason != "" && e.Reason != "timeout" {
			break
		}
		// A decline is an answer ("not me"), a miss is none: supervisors
		// act differently on each, so they are counted apart.
		if e.Type == Declined {
			f.counts(e.At, f.keyOf(cs, k)).Declined++
			f.agent(e.At, e.AgentID).Declined++
			break
		}
		f.counts(e.At, f.keyOf(cs, k)).MissedOffers++
		f.agent(e.At, e.AgentID).MissedOffers++
	case Accepted:
		f.agent(e.At, e.AgentID).Answered++
		if cs != nil && cs.answered {
			// Taken over from a colleague: a new handle starts, the
			// customer was answered long ago.
			cs.acceptedAt = e.At
			break
		}
		key := f.keyOf(cs, k)
		c := f.counts(e.At, key)
		c.Answered++
		wait := f.waitOf(cs, e)
		c.TotalWait += wait
		if wait > c.LongestAnswerWait {
			c.LongestAnswerWait = wait
		}
		if wait <= f.thresholds(key.Queue).ServiceLevel {
			c.AnsweredInSL++
		}
		f.observe(ObsAnswered, key, e.At, wait)
		if cs != nil {
			cs.acceptedAt, cs.answered, cs.offeredTo = e.At, true, ""
			if cs.promised {
				c.EstimatesGiven++
				if wait <= cs.estimate {
					c.EstimatesKept++
				}
			}
		}
	case Abandoned:
		key := f.keyOf(cs, k)
		c := f.counts(e.At, key)
		wait := f.waitOf(cs, e)
		th := f.thresholds(key.Queue)
		obs := ObsAbandoned
		switch {
		case e.ClosedInQueue:
			obs = ObsClosedInQueue
			c.ClosedInQueue++
		case wait < th.ShortAbandon:
			c.ShortAbandoned++
		default:
			c.Abandoned++
			if wait <= th.ServiceLevel {
				c.AbandonedInSL++
			}
		}
		f.observe(obs, key, e.At, wait)
		delete(f.convs, e.ConversationID)
	case Transferred:
		key := f.keyOf(cs, k)
		if e.ToQueue != "" && e.ToQueue != key.Queue {
			f.counts(e.At, key).TransferredOut++
			to := Key{Queue: e.ToQueue, Channel: key.Channel}
			f.counts(e.At, to).Entered++
			f.observe(ObsEntered, to, e.At, 0)
			if cs != nil {
				// The customer's wait goes on from the original enqueue:
				// a transfer must not make the queue look faster.
				cs.key, cs.acceptedAt, cs.answered, cs.offered = to, time.Time{}, false, false
			}
		}
	case Closed:
		c := f.counts(e.At, f.keyOf(cs, k))
		c.Closed++
		handle := e.Handle
		if cs != nil && !cs.acceptedAt.IsZero() {
			handle = e.At.Sub(cs.acceptedAt)
		}
		c.TotalHandle += handle
		f.observe(ObsClosed, f.keyOf(cs, k), e.At, handle)
		ag := f.agent(e.At, e.AgentID)
		ag.Handled++
		ag.TotalHandle += handle
		delete(f.convs, e.ConversationID)
	}
}

func (f *Folder) observe(kind string, k Key, at time.Time, d time.Duration) {
	if f.Observe != nil {
		f.Observe(Observation{Kind: kind, Key: k, At: at, Duration: d})
	}
}

func (f *Folder) keyOf(cs *convState, k Key) Key {
	if cs != nil {
		return cs.key
	}
	return k
}

func (f *Folder) waitOf(cs *convState, e Event) time.Duration {
	start := e.EnqueuedAt
	if start.IsZero() && cs != nil {
		start = cs.enqueuedAt
	}
	if start.IsZero() {
		return e.Wait
	}
	if e.At.Before(start) {
		return 0
	}
	return e.At.Sub(start)
}

// Sum adds the counts of every interval in [from, to) per key; an empty
// queue or channel matches all.
func (f *Folder) Sum(from, to time.Time, queue, channel string) map[Key]Counts {
	out := map[Key]Counts{}
	for b, m := range f.buckets {
		if b.Before(from.Truncate(f.interval)) || !b.Before(to) {
			continue
		}
		for k, c := range m {
			if (queue != "" && k.Queue != queue) || (channel != "" && k.Channel != channel) {
				continue
			}
			acc := out[k]
			acc.Add(*c)
			out[k] = acc
		}
	}
	return out
}

// Row is one interval's counts for one key, for history reports.
type Row struct {
	Start time.Time
	Key   Key
	Counts
}

// Series lists per-interval rows in [from, to), oldest first, re-bucketed
// to step (a multiple of the folder's interval).
func (f *Folder) Series(from, to time.Time, step time.Duration, queue string) []Row {
	if step < f.interval {
		step = f.interval
	}
	acc := map[time.Time]map[Key]*Counts{}
	for b, m := range f.buckets {
		if b.Before(from.Truncate(f.interval)) || !b.Before(to) {
			continue
		}
		s := intervalStart(b, step, f.Location)
		for k, c := range m {
			if queue != "" && k.Queue != queue {
				continue
			}
			if acc[s] == nil {
				acc[s] = map[Key]*Counts{}
			}
			if acc[s][k] == nil {
				acc[s][k] = &Counts{}
			}
			acc[s][k].Add(*c)
		}
	}
	var rows []Row
	for s, m := range acc {
		for k, c := range m {
			rows = append(rows, Row{Start: s, Key: k, Counts: *c})
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		if !rows[i].Start.Equal(rows[j].Start) {
			return rows[i].Start.Before(rows[j].Start)
		}
		if rows[i].Key.Queue != rows[j].Key.Queue {
			return rows[i].Key.Queue < rows[j].Key.Queue
		}
		return rows[i].Key.Channel < rows[j].Key.Channel
	})
	return rows
}

// intervalStart is the start of the step-long interval holding t, counted
// from t's local midnight in loc. A step of whole days counts calendar days
// (from 1 January 1970, local), so a daily row is one local day, 23 or 25
// hours long across a DST change.
func intervalStart(t time.Time, step time.Duration, loc *time.Location) time.Time {
	const day = 24 * time.Hour
	midnight := hours.Day(t, loc)
	if step >= day && step%day == 0 {
		n := int(step / day)
		k := hours.DaysBetween(time.Date(1970, 1, 1, 12, 0, 0, 0, midnight.Location()), t, loc) % n
		if k < 0 {
			k += n
		}
		return time.Date(midnight.Year(), midnight.Month(), midnight.Day()-k, 0, 0, 0, 0, midnight.Location())
	}
	return midnight.Add(t.Sub(midnight) / step * step)
}

// Waiting is a conversation still in queue at the moment of asking, for
// "waiting now" and "longest current wait".
type Waiting struct {
	Key            Key
	ConversationID string
	EnqueuedAt     time.Time
	// OfferedTo is the agent holding an open offer for it, if any.
	OfferedTo string
}

// Waiting lists the conversations enqueued and not yet answered, abandoned
// or closed.
func (f *Folder) Waiting() []Waiting {
	var out []Waiting
	for id, cs := range f.convs {
		if cs.acceptedAt.IsZero() {
			out = append(out, Waiting{Key: cs.key, ConversationID: id, EnqueuedAt: cs.enqueuedAt, OfferedTo: cs.offeredTo})
		}
	}
	// Longest waiting first; the id breaks ties so every gateway lists
	// the same order.
	sort.Slice(out, func(i, j int) bool {
		if !out[i].EnqueuedAt.Equal(out[j].EnqueuedAt) {
			return out[i].EnqueuedAt.Before(out[j].EnqueuedAt)
		}
		return out[i].ConversationID < out[j].ConversationID
	})
	return out
}

// AgentSum adds each agent's counts of every interval in [from, to).
func (f *Folder) AgentSum(from, to time.Time) map[string]AgentCounts {
	out := map[string]AgentCounts{}
	for b, m := range f.agents {
		if b.Before(from.Truncate(f.interval)) || !b.Before(to) {
			continue
		}
		for id, c := range m {
			acc := out[id]
			acc.Add(*c)
			out[id] = acc
		}
	}
	return out
}

// AwayByMissedOffers lists the agents routing set away for missed offers
// who have not changed state since, with when it happened.
func (f *Folder) AwayByMissedOffers() map[string]time.Time {
	out := make(map[string]time.Time, len(f.awayMissed))
	for id, t := range f.awayMissed {
		out[id] = t
	}
	return out
}

// PruneIdle forgets conversations with no event since cutoff: their end
// fell outside what was read, or the capped stream lost it. A conversation
// that later turns up again still counts, with the wait and handle time
// its events carry.
func (f *Folder) PruneIdle(cutoff time.Time) {
	for id, cs := range f.convs {
		if cs.seen.Before(cutoff) {
			delete(f.convs, id)
		}
	}
}

// Prune forgets intervals that end before cutoff, bounding memory.
func (f *Folder) Prune(cutoff time.Time) {
	for b := range f.buckets {
		if b.Add(f.interval).Before(cutoff) {
			delete(f.buckets, b)
		}
	}
	for b := range f.agents {
		if b.Add(f.interval).Before(cutoff) {
			delete(f.agents, b)
		}
	}
}
