package dav

import (
	"context"
	"sync"
)

// hrefLocks serialises the writes (Create, Update, Delete) of one storage that target
// the same href: two writes to one href are never in flight together. Two idents can
// sanitise to the same file name, and a server may answer one of two concurrent
// "If-None-Match: *" PUTs to the same new href with 500 (DAViCal) instead of 412;
// one after the other, the second gets its 412 and moves to the hash name.
type hrefLocks struct {
	mu sync.Mutex
	m  map[string]*hrefLock
}

type hrefLock struct {
	ch    chan struct{} // holds one token while locked
	users int           // holders and waiters
}

// lock waits until no other write to href is in flight, or ctx ends. The returned
// function releases the lock.
func (l *hrefLocks) lock(ctx context.Context, href string) (func(), error) {
	href = trimSlash(href)
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*hrefLock{}
	}
	hl := l.m[href]
	if hl == nil {
		hl = &hrefLock{ch: make(chan struct{}, 1)}
		l.m[href] = hl
	}
	hl.users++
	l.mu.Unlock()
	done := func() {
		l.mu.Lock()
		if hl.users--; hl.users == 0 {
			delete(l.m, href)
		}
		l.mu.Unlock()
	}
	select {
	case hl.ch <- struct{}{}:
		return func() { <-hl.ch; done() }, nil
	case <-ctx.Done():
		done()
		return nil, ctx.Err()
	}
}
