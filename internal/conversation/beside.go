package conversation

import (
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Beside is what a console shows beside a conversation's record when it
// is offered or assigned: who the customer is and what was said last.
// OfferedBeside and AcceptedBeside read it in the script that records the
// change, so ringing an agent costs one round trip, not two.
type Beside struct {
	// Customer is the record's customer, followed through merges.
	Customer Customer
	// CustomerErr wraps ErrNotFound when the record names no customer
	// that exists; Customer is zero then.
	CustomerErr error
	// LastCustomer is the newest message from the customer among the
	// transcript's last entries (an offer's preview); nil when none.
	LastCustomer *Entry
	// LastSaid is the newest line a customer or an agent wrote among them
	// (what an assignment shows last); nil when none.
	LastSaid *Entry
}

// LastLines finds, among entries oldest first, the newest customer message
// and the newest line a customer or an agent wrote: what a console shows
// beside a record. update.lua (flag k) keeps the same two lines.
func LastLines(entries []Entry) (customer, said *Entry) {
	for i := len(entries) - 1; i >= 0 && customer == nil; i-- {
		switch e := &entries[i]; e.Type {
		case EntryCustomer:
			customer = e
			if said == nil {
				said = e
			}
		case EntryAgent:
			if said == nil {
				said = e
			}
		}
	}
	return customer, said
}

// luaList reads a script's flat answer from position at on.
type luaList struct {
	res []any
	at  int
}

func (l *luaList) next() any {
	if l.at >= len(l.res) {
		return nil
	}
	v := l.res[l.at]
	l.at++
	return v
}

func (l *luaList) str() string { s, _ := l.next().(string); return s }

func (l *luaList) count() int { n, _ := l.next().(int64); return int(n) }

// pairs reads n values as field/value pairs.
func (l *luaList) pairs(n int) map[string]string {
	h := make(map[string]string, n/2)
	for range n / 2 {
		k := l.str()
		h[k] = l.str()
	}
	if n%2 == 1 {
		l.next()
	}
	return h
}

func (l *luaList) strs(n int) []string {
	out := make([]string, 0, n)
	for range n {
		out = append(out, l.str())
	}
	return out
}

// beside reads update.lua's customer section (flag k): customer id, its
// pairs, identities and tags, each counted, then the lines a console
// shows, shaped as XREVRANGE's answer.
func (l *luaList) beside() *Beside {
	id := l.str()
	h := l.pairs(l.count())
	idents := l.strs(l.count())
	tags := l.strs(l.count())
	b := &Beside{}
	if h["id"] == "" {
		b.CustomerErr = fmt.Errorf("conversation: customer %q: %w", id, ErrNotFound)
	} else {
		b.Customer = customerOf(id, h, idents, tags)
	}
	raw, _ := l.next().([]any)
	msgs := make([]redis.XMessage, 0, len(raw))
	for _, m := range raw {
		parts, _ := m.([]any)
		if len(parts) != 2 {
			continue
		}
		msgID, _ := parts[0].(string)
		kv, _ := parts[1].([]any)
		values := make(map[string]any, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			k, _ := kv[i].(string)
			values[k] = kv[i+1]
		}
		msgs = append(msgs, redis.XMessage{ID: msgID, Values: values})
	}
	b.LastCustomer, b.LastSaid = LastLines(oldestFirst(msgs))
	return b
}
