package cputime

import (
	"testing"
	"time"
)

// TestSelfCountsThisProcesssWork: the CPU time reported next to the
// gateways' and Redis's grows while this process works.
func TestSelfCountsThisProcesssWork(t *testing.T) {
	before := Self()
	if before <= 0 {
		t.Fatalf("Self = %v at start; a running test has used some", before)
	}
	deadline := time.Now().Add(10 * time.Second)
	x := 0
	for Self()-before < 30*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatalf("Self grew by %v in 10 s of busy work; want at least 30ms", Self()-before)
		}
		for i := range 100000 {
			x += i
		}
	}
	_ = x
}
