package realtime

import (
	"slices"
	"testing"
)

func TestSubscribersOneAndMany(t *testing.T) {
	t.Parallel()
	a, b, c := &Conn{id: 1}, &Conn{id: 2}, &Conn{id: 3}
	ids := func(s subscribers) []uint64 {
		var out []uint64
		for _, c := range s.appendTo(nil) {
			out = append(out, c.id)
		}
		slices.Sort(out)
		return out
	}
	for _, tc := range []struct {
		desc    string
		steps   func() subscribers
		want    []uint64
		wantMap bool
	}{
		{desc: "none", steps: func() subscribers { return subscribers{} }},
		{desc: "one is inline", steps: func() subscribers { return subscribers{}.add(a) }, want: []uint64{1}},
		{desc: "adding the same one twice keeps one", steps: func() subscribers { return subscribers{}.add(a).add(a) }, want: []uint64{1}},
		{desc: "a second makes a map", steps: func() subscribers { return subscribers{}.add(a).add(b) }, want: []uint64{1, 2}, wantMap: true},
		{desc: "three", steps: func() subscribers { return subscribers{}.add(a).add(b).add(c) }, want: []uint64{1, 2, 3}, wantMap: true},
		{desc: "back to one gives the map up", steps: func() subscribers { return subscribers{}.add(a).add(b).remove(a) }, want: []uint64{2}},
		{desc: "removing a stranger changes nothing", steps: func() subscribers { return subscribers{}.add(a).remove(b) }, want: []uint64{1}},
		{desc: "removing the last", steps: func() subscribers { return subscribers{}.add(a).remove(a) }},
		{desc: "three less one stays a map", steps: func() subscribers { return subscribers{}.add(a).add(b).add(c).remove(b) }, want: []uint64{1, 3}, wantMap: true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			s := tc.steps()
			if got := ids(s); !slices.Equal(got, tc.want) {
				t.Errorf("subscribers %v, want %v", got, tc.want)
			}
			if s.len() != len(tc.want) {
				t.Errorf("len %d, want %d", s.len(), len(tc.want))
			}
			if (s.many != nil) != tc.wantMap {
				t.Errorf("map in use %v, want %v", s.many != nil, tc.wantMap)
			}
		})
	}
}
