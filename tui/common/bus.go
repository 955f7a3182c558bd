package common

import (
	"sync"

	tea "github.com/charmbracelet/bubbletea"
)

// Bus carries what background goroutines report (engine events, log lines, requests to
// run a merge tool) into the Bubble Tea loop, in order. Push never blocks, so the
// engine is never slowed down by the screen; Wait delivers everything queued so far as
// one BusMsg.
type Bus struct {
	mu     sync.Mutex
	items  []any
	signal chan struct{}
	closed bool
}

// BusMsg is what Wait delivers: the items pushed since the last delivery, in order.
type BusMsg struct{ Items []any }

// NewBus returns an empty bus.
func NewBus() *Bus { return &Bus{signal: make(chan struct{}, 1)} }

// Push queues an item. It is safe from any goroutine.
func (b *Bus) Push(x any) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.items = append(b.items, x)
	b.mu.Unlock()
	select {
	case b.signal <- struct{}{}:
	default:
	}
}

// Close wakes a pending Wait for good; later pushes are dropped.
func (b *Bus) Close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	select {
	case b.signal <- struct{}{}:
	default:
	}
}

// Pending reports how many items wait for delivery.
func (b *Bus) Pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.items)
}

// Wait returns a command that blocks until something was pushed and delivers it. The
// loop must issue exactly one Wait at a time (again after each BusMsg).
func (b *Bus) Wait() tea.Cmd {
	return func() tea.Msg {
		for {
			b.mu.Lock()
			if len(b.items) > 0 {
				items := b.items
				b.items = nil
				b.mu.Unlock()
				return BusMsg{Items: items}
			}
			closed := b.closed
			b.mu.Unlock()
			if closed {
				return nil
			}
			<-b.signal
		}
	}
}

// Drain returns and removes everything queued (for tests and shutdown).
func (b *Bus) Drain() []any {
	b.mu.Lock()
	defer b.mu.Unlock()
	items := b.items
	b.items = nil
	return items
}
