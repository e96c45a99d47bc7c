package webchat

import (
	"context"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/realtime"
)

// places tells this gateway's waiting visitors their place in line when
// their queue moves, instead of each socket asking on a timer. One
// computation per queue change serves every local visitor of that queue:
// a queue that is still costs nothing, however many visitors wait.
//
// Changes that arrive while a computation runs are folded into one more
// run after it, and runs of one queue are at least Config.PositionEvery
// apart, so a storm of routing events costs a bounded number of reads.
type places struct {
	s *Server

	mu      sync.Mutex
	byQueue map[string]map[*visitorConn]*realtime.Conn // local sockets with an open conversation
	queueOf map[*visitorConn]string
	byConv  map[string]*visitorConn
	runs    map[string]*placeRun
	wg      sync.WaitGroup
}

// placeRun is the recomputation state of one queue.
type placeRun struct {
	running bool
	dirty   bool
	last    time.Time
}

func newPlaces(s *Server) *places {
	return &places{s: s, byQueue: map[string]map[*visitorConn]*realtime.Conn{}, queueOf: map[*visitorConn]string{},
		byConv: map[string]*visitorConn{}, runs: map[string]*placeRun{}}
}

// watch registers v's socket as waiting on queue for conversation convID,
// replacing an earlier registration.
func (p *places) watch(v *visitorConn, c *realtime.Conn, convID, queue string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.forgetLocked(v)
	if p.byQueue[queue] == nil {
		p.byQueue[queue] = map[*visitorConn]*realtime.Conn{}
	}
	p.byQueue[queue][v] = c
	p.queueOf[v] = queue
	p.byConv[convID] = v
}

// forget drops v (its socket closed or its conversation ended).
func (p *places) forget(v *visitorConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.forgetLocked(v)
}

func (p *places) forgetLocked(v *visitorConn) {
	q, ok := p.queueOf[v]
	if !ok {
		return
	}
	delete(p.queueOf, v)
	if m := p.byQueue[q]; m != nil {
		delete(m, v)
		if len(m) == 0 {
			delete(p.byQueue, q)
		}
	}
	for id, w := range p.byConv {
		if w == v {
			delete(p.byConv, id)
		}
	}
}

// changed notes that queue moved; convID, when set, is the conversation
// that moved, which may have changed queue (a transfer or an overflow).
func (p *places) changed(convID, queue string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if v := p.byConv[convID]; v != nil && convID != "" {
		if old := p.queueOf[v]; old != queue {
			c := p.byQueue[old][v]
			delete(p.byQueue[old], v)
			if len(p.byQueue[old]) == 0 {
				delete(p.byQueue, old)
			}
			if p.byQueue[queue] == nil {
				p.byQueue[queue] = map[*visitorConn]*realtime.Conn{}
			}
			p.byQueue[queue][v] = c
			p.queueOf[v] = queue
			v.setQueue(queue)
		}
	}
	if len(p.byQueue[queue]) == 0 {
		return // nobody here waits in it
	}
	r := p.runs[queue]
	if r == nil {
		r = &placeRun{}
		p.runs[queue] = r
	}
	if r.running {
		r.dirty = true
		return
	}
	r.running = true
	p.wg.Add(1)
	go p.run(queue, r)
}

// run recomputes queue's places until no change arrived meanwhile.
func (p *places) run(queue string, r *placeRun) {
	defer p.wg.Done()
	for {
		p.mu.Lock()
		wait := time.Until(r.last.Add(p.s.cfg.PositionEvery))
		p.mu.Unlock()
		if wait > 0 {
			time.Sleep(wait)
		}
		p.mu.Lock()
		r.last, r.dirty = time.Now(), false
		targets := make(map[*visitorConn]*realtime.Conn, len(p.byQueue[queue]))
		for v, c := range p.byQueue[queue] {
			targets[v] = c
		}
		p.mu.Unlock()
		if len(targets) > 0 {
			p.compute(queue, targets)
		}
		p.mu.Lock()
		if !r.dirty {
			r.running = false
			if len(p.byQueue[queue]) == 0 {
				delete(p.runs, queue)
			}
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
	}
}

// compute reads queue's order and estimate once and sends each target
// whose place or estimate changed its new queue frame.
func (p *places) compute(queue string, targets map[*visitorConn]*realtime.Conn) {
	s := p.s
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	pos, err := s.deps.Places.Positions(ctx, queue)
	if err != nil {
		s.log.Warn("webchat: places in line", "queue", queue, "err", err)
		return
	}
	est, err := s.core.Estimate(ctx, queue)
	if err != nil {
		// A place without an estimate is still worth telling.
		s.log.Warn("webchat: wait estimate failed", "queue", queue, "err", err)
		est = channel.Place{}
	}
	for v, c := range targets {
		convID := v.conversation()
		n, ok := pos[convID]
		if !ok {
			continue // taken, closed, or moved to another queue
		}
		v.sendQueue(c, queueFrameOf(convID, n, est.Low, est.High, est.Known), false)
	}
}

// wait returns when no computation runs any more.
func (p *places) wait() { p.wg.Wait() }
