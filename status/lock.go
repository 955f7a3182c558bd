package status

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// ErrLocked is returned by [TryLock] when another process (or another Lock in this
// process) holds the pair lock.
var ErrLocked = errors.New("status lock is held by another pimsync process")

// Polling intervals while waiting for a pair lock. flock(2) cannot be interrupted by a
// context, so waiting is done with non-blocking attempts.
const (
	lockPollMin = 5 * time.Millisecond
	lockPollMax = 100 * time.Millisecond
)

// Lock takes the exclusive advisory lock (flock) on <statusDir>/<pair>.lock that makes
// this process the single writer of the pair's status (sync.md §3.1). The lock file is
// created with mode 0600 if missing; statusDir must exist. Lock waits until the lock is
// free or ctx is done (then the error wraps ctx.Err()); for sync's 60 s limit pass a
// context with that timeout. The lock is per open file, so two Locks in one process
// exclude each other too.
//
// The returned unlock releases the lock; it may be called more than once.
func Lock(ctx context.Context, statusDir, pair string) (unlock func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("waiting for status lock of pair %s: %w", pair, err)
	}
	f, err := openLockFile(statusDir, pair)
	if err != nil {
		return nil, err
	}
	delay := lockPollMin
	for {
		ok, err := tryFlock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", f.Name(), err)
		}
		if ok {
			return unlocker(f), nil
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, fmt.Errorf("waiting for status lock %s: %w", f.Name(), ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, lockPollMax)
	}
}

// TryLock is [Lock] without waiting: if the lock is held elsewhere it returns
// [ErrLocked]. sync uses it to decide whether to print "waiting for another pimsync
// process syncing pair P" before calling Lock.
func TryLock(statusDir, pair string) (unlock func(), err error) {
	f, err := openLockFile(statusDir, pair)
	if err != nil {
		return nil, err
	}
	ok, err := tryFlock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", f.Name(), err)
	}
	if !ok {
		f.Close()
		return nil, fmt.Errorf("%s: %w", f.Name(), ErrLocked)
	}
	return unlocker(f), nil
}

func openLockFile(statusDir, pair string) (*os.File, error) {
	if pair == "" || strings.ContainsAny(pair, `/\`) {
		return nil, fmt.Errorf("status lock: invalid pair name %q", pair)
	}
	f, err := os.OpenFile(LockPath(statusDir, pair), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("status lock: %w", err)
	}
	return f, nil
}

// unlocker returns a function that releases the lock held on f by closing it.
func unlocker(f *os.File) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			// Closing the last descriptor of the open file releases the flock.
			unflock(f)
			f.Close()
		})
	}
}
