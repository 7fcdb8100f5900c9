// Package gcstats prints the RESULT line of the GC benchmarks, the same line
// the C programs print (bench/gc_alloc.h):
//
//	RESULT name=N alloc=go <params> wall_ms=W maxrss_kb=R gcs=C max_pause_us=M p99_pause_us=P total_pause_us=T pauses=K pauses_lost=L cpu_ms=U
//
// Start forces one collection (runtime.GC) so the runtime's start-up is
// outside the timing, takes a baseline of runtime.MemStats and starts a
// sampler goroutine. Every pollPeriod the sampler reads the pause history
// with debug.ReadGCStats (which, unlike runtime.ReadMemStats, does not stop
// the world) and records the pause of every cycle completed since its last
// read. A pause is a cycle's stop-the-world time, both of its stops summed
// (MemStats.PauseNs). The runtime keeps the last 256 cycles only: if more
// than 256 complete between two reads, the older ones are counted in
// pauses_lost, never guessed. Result reads once more, then reports the
// cycles after the baseline (NumGC), the longest recorded pause, the 99th
// percentile (nearest rank), the sum of all pauses (PauseTotalNs), and the
// peak RSS and the CPU time of the whole process (user + system, every
// thread) from getrusage(RUSAGE_SELF).
package gcstats

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"sync"
	"syscall"
	"time"
)

const pollPeriod = 5 * time.Millisecond

// Run is one timed run of a benchmark.
type Run struct {
	base  runtime.MemStats
	start time.Time

	mu     sync.Mutex
	gc     debug.GCStats   // reused buffer of the sampler's reads
	seen   int64           // the last cycle whose pause is recorded
	pauses []time.Duration // every recorded pause since the baseline
	lost   int64
	stop   chan struct{}
	done   chan struct{}
}

// poll records the pauses of the cycles completed since the last read.
func (r *Run) poll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	debug.ReadGCStats(&r.gc)
	// r.gc.Pause is most recent first: Pause[i] is cycle NumGC - i.
	n := r.gc.NumGC - r.seen
	if n <= 0 {
		return
	}
	if n > int64(len(r.gc.Pause)) {
		r.lost += n - int64(len(r.gc.Pause))
		n = int64(len(r.gc.Pause))
	}
	for i := n - 1; i >= 0; i-- {
		r.pauses = append(r.pauses, r.gc.Pause[i])
	}
	r.seen = r.gc.NumGC
}

func (r *Run) sample() {
	t := time.NewTicker(pollPeriod)
	defer t.Stop()
	defer close(r.done)
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			r.poll()
		}
	}
}

// Start collects, takes the baseline, starts the sampler and the clock
// (monotonic).
func Start() *Run {
	r := &Run{stop: make(chan struct{}), done: make(chan struct{})}
	runtime.GC()
	runtime.ReadMemStats(&r.base)
	r.seen = int64(r.base.NumGC)
	go r.sample()
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
	r.ResultExtra(name, params, "", wall)
}

// ResultExtra is Result with the benchmark's own "key=value ..." results
// after cpu_ms, as the C programs' bench_result prints them.
func (r *Run) ResultExtra(name, params, extra string, wall time.Duration) {
	var end runtime.MemStats
	var ru syscall.Rusage

	close(r.stop)
	<-r.done
	r.poll()
	runtime.ReadMemStats(&end)
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		fmt.Fprintln(os.Stderr, "getrusage:", err)
		os.Exit(1)
	}
	gcs := end.NumGC - r.base.NumGC
	var maxPause, p99 time.Duration
	if n := len(r.pauses); n > 0 {
		sort.Slice(r.pauses, func(i, j int) bool {
			return r.pauses[i] < r.pauses[j]
		})
		maxPause = r.pauses[n-1]
		p99 = r.pauses[(99*n+99)/100-1]
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	fmt.Printf("RESULT name=%s alloc=go %s wall_ms=%.1f maxrss_kb=%d gcs=%d "+
		"max_pause_us=%.1f p99_pause_us=%.1f total_pause_us=%.1f "+
		"pauses=%d pauses_lost=%d cpu_ms=%.1f%s\n",
		name, params, float64(wall.Nanoseconds())/1e6, ru.Maxrss, gcs,
		float64(maxPause.Nanoseconds())/1e3,
		float64(p99.Nanoseconds())/1e3,
		float64(end.PauseTotalNs-r.base.PauseTotalNs)/1e3,
		len(r.pauses), r.lost, float64(cpu.Nanoseconds())/1e6,
		map[bool]string{true: " " + extra, false: ""}[extra != ""])
}
