package engine

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/memstore"
)

// startDaemon runs a daemon on the fixture's pair until the test ends. Its interval is
// an hour, so that every sync is one the test caused.
func startDaemon(t *testing.T, f *fixture) (*Daemon, *stateLog) {
	t.Helper()
	states := &stateLog{}
	d := &Daemon{Engine: f.eng, Pairs: []*Pair{f.pair}, MinBackoff: time.Hour,
		Interval: func(*Pair, Side) time.Duration { return time.Hour }, OnState: states.add}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return d, states
}

// stateLog records every state change and lets a test wait for one.
type stateLog struct {
	mu     sync.Mutex
	all    []PairStatus
	signal chan struct{}
}

func (l *stateLog) add(s PairStatus) {
	l.mu.Lock()
	l.all = append(l.all, s)
	if l.signal != nil {
		close(l.signal)
		l.signal = nil
	}
	l.mu.Unlock()
}

// mark returns the number of state changes so far.
func (l *stateLog) mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.all)
}

// wait waits for a state change that satisfies cond (a safety net of a minute).
func (l *stateLog) wait(t *testing.T, what string, cond func(PairStatus) bool) PairStatus {
	return l.waitFrom(t, 0, what, cond)
}

// waitFrom is wait among the changes after the first from.
func (l *stateLog) waitFrom(t *testing.T, from int, what string, cond func(PairStatus) bool) PairStatus {
	t.Helper()
	deadline := time.After(time.Minute)
	seen := from
	for {
		l.mu.Lock()
		for ; seen < len(l.all); seen++ {
			if cond(l.all[seen]) {
				s := l.all[seen]
				l.mu.Unlock()
				return s
			}
		}
		if l.signal == nil {
			l.signal = make(chan struct{})
		}
		sig := l.signal
		l.mu.Unlock()
		select {
		case <-sig:
		case <-deadline:
			t.Fatalf("no state change: %s", what)
		}
	}
}

func TestDaemonSyncNowAndStatus(t *testing.T) {
	f := newFixture(t, memstore.New(storage.Calendars), memstore.New(storage.Calendars), nil)
	f.a.AddCollection("c")
	d, states := startDaemon(t, f)
	states.wait(t, "idle after the first sync", func(s PairStatus) bool { return s.State == StateIdle })
	f.a.Put("c/x.ics", ev("x", "One"))
	res, err := d.SyncNow(context.Background(), "p", nil)
	if err != nil || res.Err != nil || len(res.Mappings) != 1 || res.Mappings[0].Counts[B].Created != 1 {
		t.Fatalf("SyncNow: %+v, %v", res, err)
	}
	st := d.Status()
	if len(st) != 1 || st[0].Pair != "p" || st[0].State != StateIdle || st[0].LastResult != res || st[0].LastSync.IsZero() {
		t.Errorf("Status: %+v", st)
	}
	if _, err := d.SyncNow(context.Background(), "nope", nil); !errors.Is(err, ErrUnknownPair) {
		t.Errorf("unknown pair: %v", err)
	}
}

// A job runs in the pair's task: a sync asked for meanwhile starts only after it.
func TestDaemonDoIsTheOnlyWriter(t *testing.T) {
	f := newFixture(t, memstore.New(storage.Calendars), memstore.New(storage.Calendars), nil)
	f.a.AddCollection("c")
	var mu sync.Mutex
	var events []string
	f.eng.Reporter = ReporterFunc(func(e Event) {
		if _, ok := e.(PairStarted); ok {
			mu.Lock()
			events = append(events, "sync")
			mu.Unlock()
		}
	})
	d, states := startDaemon(t, f)
	states.wait(t, "idle after the first sync", func(s PairStatus) bool { return s.State == StateIdle })
	inJob, release := make(chan struct{}), make(chan struct{})
	jobErr := make(chan error, 1)
	go func() {
		jobErr <- d.Do(context.Background(), "p", func(ctx context.Context) error {
			close(inJob)
			<-release
			mu.Lock()
			events = append(events, "job")
			mu.Unlock()
			return errors.New("job result")
		})
	}()
	<-inJob
	states.wait(t, "busy", func(s PairStatus) bool { return s.State == StateBusy })
	synced := make(chan *PairResult, 1)
	go func() {
		res, _ := d.SyncNow(context.Background(), "p", nil)
		synced <- res
	}()
	close(release)
	if err := <-jobErr; err == nil || err.Error() != "job result" {
		t.Errorf("Do returned %v", err)
	}
	if res := <-synced; res == nil || res.Err != nil {
		t.Errorf("SyncNow: %+v", res)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 3 || events[0] != "sync" || events[1] != "job" || events[2] != "sync" {
		t.Errorf("order: %v (want the first sync, the job, then the sync asked for during the job)", events)
	}
}

// A sync cancelled by the client that asked for it is not a failure: no backoff.
// A failed sync is retried after the backoff, and the state says when.
func TestDaemonCancelAndRetryStates(t *testing.T) {
	a := memstore.New(storage.Calendars)
	f := newFixture(t, a, memstore.New(storage.Calendars), nil)
	a.AddCollection("c")
	d, states := startDaemon(t, f)
	states.wait(t, "idle", func(s PairStatus) bool { return s.State == StateIdle })

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.SyncNow(ctx, "p", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("SyncNow with a cancelled context: %v", err)
	}
	// Cancelled while it runs (discovery answers with the context's error, as a
	// network storage does): back to idle, no retry.
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	a.FailOn(func(op, href string) error {
		if op == memstore.OpDiscover {
			cancelled := false
			once.Do(func() { close(entered); <-release; cancelled = true })
			if cancelled {
				return context.Canceled
			}
		}
		return nil
	})
	ctx, cancel = context.WithCancel(context.Background())
	from := states.mark()
	got := make(chan *PairResult, 1)
	go func() { res, _ := d.SyncNow(ctx, "p", nil); got <- res }()
	<-entered
	cancel()
	close(release)
	if res := <-got; res == nil || !errors.Is(res.Err, context.Canceled) {
		t.Fatalf("the cancelled sync: %+v", res)
	}
	after := states.waitFrom(t, from, "the state after the cancelled sync", func(s PairStatus) bool { return s.State != StateSyncing && s.State != StateStarting })
	if after.State != StateIdle || !after.NextRetry.IsZero() {
		t.Errorf("after a cancelled sync: %+v (want idle, no retry)", after)
	}

	a.FailOn(func(op, href string) error {
		if op == memstore.OpDiscover {
			return &storage.Error{Op: "discover", Err: errors.New("server down"), Temporary: true}
		}
		return nil
	})
	from = states.mark()
	res, err := d.SyncNow(context.Background(), "p", nil)
	if err != nil || res.Err == nil {
		t.Fatalf("SyncNow against a failing storage: %+v %v", res, err)
	}
	st := states.waitFrom(t, from, "retrying", func(s PairStatus) bool { return s.State == StateRetrying })
	if st.NextRetry.Before(time.Now().Add(50*time.Minute)) || st.Err == "" {
		t.Errorf("retrying: %+v (want the hour of MinBackoff ahead and the error)", st)
	}
}
