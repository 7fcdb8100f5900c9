// binarytrees: the Benchmarks Game's binary-trees, single goroutine, a port
// of bench/binarytrees.c (the algorithm and output are described there).
//
// Usage: binarytrees [N]   (N = max depth, default 10)
package main

import (
	"fmt"
	"os"
	"strconv"

	"tricolor/bench/gcstats"
)

const minDepth = 4

type node struct {
	left, right *node
}

func bottomUpTree(depth int) *node {
	if depth <= 0 {
		return &node{}
	}
	return &node{bottomUpTree(depth - 1), bottomUpTree(depth - 1)}
}

func (n *node) check() int {
	if n.left == nil {
		return 1
	}
	return 1 + n.left.check() + n.right.check()
}

func treeNodes(depth int) int {
	return 1<<uint(depth+1) - 1
}

// failed is set when a check is not the node count its trees must have.
var failed bool

func expect(check, nodes int) {
	if check != nodes {
		failed = true
	}
}

func run(maxDepth int) {
	stretchDepth := maxDepth + 1
	c := bottomUpTree(stretchDepth).check()
	fmt.Printf("stretch tree of depth %d\t check: %d\n", stretchDepth, c)
	expect(c, treeNodes(stretchDepth))

	longLived := bottomUpTree(maxDepth)

	for d := minDepth; d <= maxDepth; d += 2 {
		iterations := 1 << uint(maxDepth-d+minDepth)
		check := 0
		for i := 0; i < iterations; i++ {
			check += bottomUpTree(d).check()
		}
		fmt.Printf("%d\t trees of depth %d\t check: %d\n", iterations, d,
			check)
		expect(check, iterations*treeNodes(d))
	}

	c = longLived.check()
	fmt.Printf("long lived tree of depth %d\t check: %d\n", maxDepth, c)
	expect(c, treeNodes(maxDepth))
}

func main() {
	n := 10
	if len(os.Args) > 2 {
		fmt.Fprintln(os.Stderr, "usage: binarytrees [N]")
		os.Exit(2)
	}
	if len(os.Args) == 2 {
		v, err := strconv.Atoi(os.Args[1])
		if err != nil || v < 0 || v > 30 {
			fmt.Fprintf(os.Stderr,
				"bench: N must be an integer in [0, 30], got '%s'\n",
				os.Args[1])
			os.Exit(2)
		}
		n = v
	}
	maxDepth := n
	if maxDepth < minDepth+2 {
		maxDepth = minDepth + 2
	}

	r := gcstats.Start()
	run(maxDepth)
	wall := r.Elapsed()
	if failed {
		fmt.Println("Failed: a check is not the node count of its trees")
		os.Exit(1)
	}
	r.Result("binarytrees", fmt.Sprintf("depth=%d", n), wall)
}
