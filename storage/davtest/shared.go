package davtest

import (
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"testing"
)

// Cyrus and DAViCal take seconds to set up (a mail store, a PostgreSQL cluster, Apache),
// so each test binary runs one instance of each and gives every test its own user with
// empty homes. The instances live until RunShared returns.

var shared struct {
	mu      sync.Mutex
	enabled bool
	stops   []func() // in start order; stopped in reverse
}

// RunShared runs the tests of a package that uses StartCyrus or StartDAViCal and then
// stops the server instances they shared and removes their directories:
//
//	func TestMain(m *testing.M) { os.Exit(davtest.RunShared(m)) }
//
// An interrupted or terminated test binary (SIGINT, SIGTERM) stops them too; after a
// SIGKILL the servers stop on their own (parent-death signal) and the next start
// removes what is left in the temp dir and /etc/davical.
func RunShared(m *testing.M) int {
	shared.mu.Lock()
	shared.enabled = true
	shared.mu.Unlock()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		StopShared()
		fmt.Fprintf(os.Stderr, "davtest: %v: stopped the shared test servers\n", sig)
		os.Exit(2)
	}()
	code := m.Run()
	signal.Stop(sigs)
	StopShared()
	return code
}

// StopShared stops every shared server instance started so far (RunShared calls it).
func StopShared() {
	shared.mu.Lock()
	stops := shared.stops
	shared.stops = nil
	shared.mu.Unlock()
	for i := len(stops) - 1; i >= 0; i-- {
		stops[i]()
	}
}

func onStopShared(f func()) {
	shared.mu.Lock()
	shared.stops = append(shared.stops, f)
	shared.mu.Unlock()
}

// instance starts a shared server once per test binary. A failed start is remembered,
// so every test that needs the server fails with the same message instead of
// retrying a slow start.
type instance[T any] struct {
	mu  sync.Mutex
	val *T
	err error
}

func (in *instance[T]) get(t testing.TB, name string, start func() (*T, error)) *T {
	t.Helper()
	shared.mu.Lock()
	enabled := shared.enabled
	shared.mu.Unlock()
	if !enabled {
		t.Fatalf("%s runs once per test binary: the package's TestMain must call davtest.RunShared(m) so that it is stopped afterwards", name)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.val == nil && in.err == nil {
		in.val, in.err = start()
	}
	if in.err != nil {
		t.Fatalf("%s: %v", name, in.err)
	}
	return in.val
}
