// Package cputime reads the CPU time this process has used. The load
// generator and the benchmarks report it per contact or per operation
// beside wall time, which on shared cores says little on its own.
package cputime

import (
	"syscall"
	"time"
)

// Self is the user and system CPU time this process has used so far; 0
// when the system does not say.
func Self() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
