package store

import (
	"errors"
	"testing"
)

// A refusal that Redis Cluster gives before running a script is retried;
// anything else (a script error, a lost connection) is not.
func TestSlotMovingKnowsTheRefusalsThatRanNothing(t *testing.T) {
	for msg, want := range map[string]bool{
		"TRYAGAIN Multiple keys request during rehashing of slot":                 true,
		"ASK 14150 127.0.0.1:33181":                                               true,
		"MOVED 14150 127.0.0.1:33181":                                             true,
		"ERR Script attempted to access a non local key in a cluster node script": true,
		"ERR user_script:1: bad argument":                                         false,
		"i/o timeout":                                                             false,
		"ERR unknown command 'ASKING'":                                            false,
	} {
		if got := SlotMoving(errors.New(msg)); got != want {
			t.Errorf("SlotMoving(%q) = %v, want %v", msg, got, want)
		}
	}
}
