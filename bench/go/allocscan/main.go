// allocscan: the scanned allocation loop, a port of bench/allocscan.c (the
// loop and output are described there). Each object is a slice of
// pointers (make([]*int, n/8)): scanned memory, zeroed, as tri_malloc's
// and GC_MALLOC's are. Its first and last word point into a global table
// where the C program writes its first and last byte.
//
// Usage: allocscan [LIVE [OPS]]   (defaults 100000 and 20000000)
package main

import (
	"fmt"
	"os"
	"strconv"

	"tricolor/bench/gcstats"
)

const minSize, maxSize = 16, 256

type slot struct {
	p []*int
	n int
}

var marks [maxSize + 1]int // what the first and last word point at

var rng uint64 = 0x2545f4914f6cdd1d

func nextRandom() uint64 { // xorshift64
	rng ^= rng << 13
	rng ^= rng >> 7
	rng ^= rng << 17
	return rng
}

func step(ring []slot, i int) {
	n := minSize + int(nextRandom()%(maxSize-minSize+1))
	p := make([]*int, (n+7)/8)
	p[0] = &marks[n]
	p[len(p)-1] = &marks[n>>1]
	ring[i] = slot{p, n}
}

func verify(ring []slot) bool {
	for _, s := range ring {
		if s.p[0] != &marks[s.n] || s.p[len(s.p)-1] != &marks[s.n>>1] {
			return false
		}
	}
	return true
}

func arg(i int, what string, lo, hi int64, def int64) int64 {
	if len(os.Args) <= i {
		return def
	}
	v, err := strconv.ParseInt(os.Args[i], 10, 64)
	if err != nil || v < lo || v > hi {
		fmt.Fprintf(os.Stderr,
			"bench: %s must be an integer in [%d, %d], got '%s'\n",
			what, lo, hi, os.Args[i])
		os.Exit(2)
	}
	return v
}

func main() {
	if len(os.Args) > 3 {
		fmt.Fprintln(os.Stderr, "usage: allocscan [LIVE [OPS]]")
		os.Exit(2)
	}
	live := int(arg(1, "LIVE", 1, 100000000, 100000))
	ops := arg(2, "OPS", 1, 2000000000, 20000000)

	ring := make([]slot, live)
	for i := range ring {
		step(ring, i)
	}
	r := gcstats.Start()
	for k := int64(0); k < ops; k++ {
		step(ring, int(k%int64(live)))
	}
	wall := r.Elapsed()
	if !verify(ring) {
		fmt.Println("Failed: a live object was freed or overwritten")
		os.Exit(1)
	}
	r.ResultExtra("allocscan", fmt.Sprintf("live=%d ops=%d", live, ops),
		fmt.Sprintf("ns_per_alloc=%.1f",
			float64(wall.Nanoseconds())/float64(ops)), wall)
}
