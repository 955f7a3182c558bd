// Command genevents writes N deterministic benchmark events into a directory.
//
//	go run ./bench/genevents -n 1000 DIR
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/pimsync-go/pimsync/bench"
)

func main() {
	n := flag.Int("n", 1000, "number of events")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: genevents [-n N] DIR")
		os.Exit(2)
	}
	if err := bench.WriteEvents(flag.Arg(0), *n); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
