// Package gcstats prints the RESULT line of the GC benchmarks, the same line
// the C programs print (bench/gc_alloc.h):
//
//	RESULT name=N alloc=go <params> wall_ms=W maxrss_kb=R gcs=C max_pause_us=M total_pause_us=T cpu_ms=U
//
// Start forces one collection (runtime.GC) so the runtime's start-up is
// outside the timing and takes a baseline of runtime.MemStats; Result counts
// the cycles after it (NumGC), their pauses (PauseTotalNs, and the longest
// in the PauseNs ring, which holds the last 256 cycles: cycle k is at
// PauseNs[(k+255)%256]) and reads the peak RSS and the CPU time of the whole
// process (user + system, every thread) from getrusage(RUSAGE_SELF).
package gcstats

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"
)

// Run is one timed run of a benchmark.
type Run struct {
	base  runtime.MemStats
	start time.Time
}

// Start collects, takes the baseline and starts the clock (monotonic).
func Start() *Run {
	r := &Run{}
	runtime.GC()
	runtime.ReadMemStats(&r.base)
	fmt.Printf("allocator: %s, GOMAXPROCS=%d\n", runtime.Version(),
		runtime.GOMAXPROCS(0))
	r.start = time.Now()
	return r
}

// Elapsed is the wall time since Start.
func (r *Run) Elapsed() time.Duration {
	return time.Since(r.start)
}

// Result prints the RESULT line; wall is the timed span, params the
// benchmark's size as "key=value ...".
func (r *Run) Result(name, params string, wall time.Duration) {
	var end runtime.MemStats
	var ru syscall.Rusage

	runtime.ReadMemStats(&end)
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		fmt.Fprintln(os.Stderr, "getrusage:", err)
		os.Exit(1)
	}
	gcs := end.NumGC - r.base.NumGC
	first := r.base.NumGC + 1
	if gcs > 256 {
		first = end.NumGC - 255
	}
	var maxPause uint64
	for k := first; k <= end.NumGC; k++ {
		if p := end.PauseNs[(k+255)%256]; p > maxPause {
			maxPause = p
		}
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	fmt.Printf("RESULT name=%s alloc=go %s wall_ms=%.1f maxrss_kb=%d gcs=%d "+
		"max_pause_us=%.1f total_pause_us=%.1f cpu_ms=%.1f\n",
		name, params, float64(wall.Nanoseconds())/1e6, ru.Maxrss, gcs,
		float64(maxPause)/1e3,
		float64(end.PauseTotalNs-r.base.PauseTotalNs)/1e3,
		float64(cpu.Nanoseconds())/1e6)
}
