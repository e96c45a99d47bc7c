package realtime

import "slices"

// subscribers are the local connections of one topic. Most topics have one
// (a visitor's own, a conversation's), and ten thousand waiting visitors
// hold twenty thousand of them: one inline pointer costs nothing more,
// where a map for each cost some 130 bytes. Topics that several
// connections share (an agent's consoles) get a map.
type subscribers struct {
	one  *Conn              // the only subscriber; nil when many is used
	many map[*Conn]struct{} // two or more subscribers
}

func (s subscribers) len() int {
	if s.many != nil {
		return len(s.many)
	}
	if s.one != nil {
		return 1
	}
	return 0
}

// add returns s with c added.
func (s subscribers) add(c *Conn) subscribers {
	switch {
	case s.many != nil:
		s.many[c] = struct{}{}
	case s.one == nil || s.one == c:
		s.one = c
	default:
		s.many = map[*Conn]struct{}{s.one: {}, c: {}}
		s.one = nil
	}
	return s
}

// remove returns s without c; a map down to one subscriber is given up.
func (s subscribers) remove(c *Conn) subscribers {
	if s.many == nil {
		if s.one == c {
			s.one = nil
		}
		return s
	}
	delete(s.many, c)
	if len(s.many) == 1 {
		for last := range s.many {
			s.one = last
		}
		s.many = nil
	}
	return s
}

// appendTo appends the subscribers to conns.
func (s subscribers) appendTo(conns []*Conn) []*Conn {
	if s.one != nil {
		return append(conns, s.one)
	}
	for c := range s.many {
		conns = append(conns, c)
	}
	return conns
}

// hasTopic reports whether c is subscribed to topic; the hub's mu is held.
// A connection has one to three topics, so a slice is searched faster than
// a map is hashed, and is a tenth of its size.
func (c *Conn) hasTopic(topic string) bool { return slices.Contains(c.topics, topic) }

// dropTopic takes topic off c's list; the hub's mu is held.
func (c *Conn) dropTopic(topic string) {
	i := slices.Index(c.topics, topic)
	if i < 0 {
		return
	}
	last := len(c.topics) - 1
	c.topics[i] = c.topics[last]
	c.topics[last] = ""
	c.topics = c.topics[:last]
	if len(c.topics) == 0 {
		c.topics = nil
	}
}
