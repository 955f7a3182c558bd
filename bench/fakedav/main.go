// Command fakedav serves the in-process fake CalDAV server (storage/davtest) on
// loopback with one collection of N generated events, for benchmarks of a separate
// pimsync process. It prints the server's URL, then serves until killed.
//
//	go run ./bench/fakedav -n 100000
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"syscall"

	"github.com/pimsync-go/pimsync/bench"
	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/davtest"
)

func main() {
	n := flag.Int("n", 1000, "number of events in collection cal")
	noTokens := flag.Bool("no-tokens", true, "offer no sync-token and no ctag, so every run lists the collection")
	flag.Parse()
	srv, err := davtest.Start(davtest.Options{NoSyncCollection: *noTokens, NoCTag: *noTokens})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	coll := davtest.CalendarHome + "cal/"
	srv.AddCollection(coll, storage.Calendars, nil)
	rng := rand.New(rand.NewPCG(42, 42))
	for i := range *n {
		uid, text := bench.Event(i, rng)
		srv.PutItem(coll+uid+".ics", []byte(text))
	}
	fmt.Println(srv.URL)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	srv.Close()
}
