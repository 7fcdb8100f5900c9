// gcbench: GCBench (Ellis, Kovac, Boehm), single goroutine, a port of
// bench/gcbench.c (the algorithm, sizes and output are described there).
//
// Usage: gcbench [STRETCH_DEPTH [LONG_LIVED_DEPTH]]   (classic: 18 16)
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
	"unsafe"

	"tricolor/bench/gcstats"
)

const minTreeDepth = 4

type node struct {
	left, right *node
	i, j        int32
}

func treeSize(depth int) int {
	return 1<<uint(depth+1) - 1
}

// populate builds a tree top down: n's children are allocated after n.
func populate(depth int, n *node) {
	if depth <= 0 {
		return
	}
	depth--
	n.left = &node{}
	n.right = &node{}
	populate(depth, n.left)
	populate(depth, n.right)
}

// makeTree builds a tree bottom up: n is allocated after its children.
func makeTree(depth int) *node {
	if depth <= 0 {
		return &node{}
	}
	return &node{left: makeTree(depth - 1), right: makeTree(depth - 1)}
}

// treeNodes counts the nodes at n, or -1 if a field is not what the build
// left.
func treeNodes(n *node) int {
	if n.i != 0 || n.j != 0 {
		return -1
	}
	if n.left == nil && n.right == nil {
		return 1
	}
	if n.left == nil || n.right == nil {
		return -1
	}
	l, r := treeNodes(n.left), treeNodes(n.right)
	if l < 0 || r < 0 {
		return -1
	}
	return 1 + l + r
}

func msSince(t time.Time) float64 {
	return float64(time.Since(t).Nanoseconds()) / 1e6
}

func timeConstruction(stretchDepth, depth int) {
	iters := 2 * treeSize(stretchDepth) / treeSize(depth)
	fmt.Printf("Creating %d trees of depth %d\n", iters, depth)
	t := time.Now()
	for i := 0; i < iters; i++ {
		temp := &node{}
		populate(depth, temp)
	}
	fmt.Printf("\tTop down construction took %.0f msec\n", msSince(t))
	t = time.Now()
	for i := 0; i < iters; i++ {
		makeTree(depth)
	}
	fmt.Printf("\tBottom up construction took %.0f msec\n", msSince(t))
}

// Live data kept from step 2 to the end.
var (
	longLived *node
	array     []float64
)

func run(stretchDepth, longLivedDepth, arraySize int) {
	fmt.Printf(" Stretching memory with a binary tree of depth %d\n",
		stretchDepth)
	makeTree(stretchDepth)

	fmt.Printf(" Creating a long-lived binary tree of depth %d\n",
		longLivedDepth)
	longLived = &node{}
	populate(longLivedDepth, longLived)

	fmt.Printf(" Creating a long-lived array of %d doubles\n", arraySize)
	array = make([]float64, arraySize)
	for i := 0; i < arraySize/2; i++ {
		array[i] = 1.0 / float64(i)
	}

	for d := minTreeDepth; d <= longLivedDepth; d += 2 {
		timeConstruction(stretchDepth, d)
	}

	if longLived == nil || array[1000] != 1.0/1000 {
		fmt.Println("Failed")
	}
}

func parse(s, what string, lo, hi int) int {
	v, err := strconv.Atoi(s)
	if err != nil || v < lo || v > hi {
		fmt.Fprintf(os.Stderr,
			"bench: %s must be an integer in [%d, %d], got '%s'\n",
			what, lo, hi, s)
		os.Exit(2)
	}
	return v
}

func main() {
	stretch, lived := 18, 16
	if len(os.Args) > 3 {
		fmt.Fprintln(os.Stderr,
			"usage: gcbench [STRETCH_DEPTH [LONG_LIVED_DEPTH]]")
		os.Exit(2)
	}
	if len(os.Args) >= 2 {
		stretch = parse(os.Args[1], "STRETCH_DEPTH", minTreeDepth, 28)
	}
	if len(os.Args) == 3 {
		lived = parse(os.Args[2], "LONG_LIVED_DEPTH", 10, stretch)
	}
	arraySize := 500000 >> uint(16-lived)
	if lived >= 16 {
		arraySize = 500000 << uint(lived-16)
	}

	fmt.Println("Garbage Collector Test")
	fmt.Printf(" Live storage will peak at %d bytes.\n\n",
		2*int(unsafe.Sizeof(node{}))*treeSize(lived)+8*arraySize)
	r := gcstats.Start()
	run(stretch, lived, arraySize)
	wall := r.Elapsed()
	fmt.Printf("Completed in %.0f msec\n", float64(wall.Nanoseconds())/1e6)

	if treeNodes(longLived) != treeSize(lived) {
		fmt.Println("Failed: the long-lived tree is damaged")
		os.Exit(1)
	}
	r.Result("gcbench", fmt.Sprintf("stretch=%d long_lived=%d", stretch,
		lived), wall)
}
