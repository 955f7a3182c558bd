package status_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pimsync-go/pimsync/status"
)

func TestLock(t *testing.T) {
	dir := t.TempDir()
	unlock, err := status.Lock(context.Background(), dir, "pair")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "pair.lock"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file mode = %v, want 0600", fi.Mode().Perm())
	}

	// Another pair is independent.
	unlockOther, err := status.TryLock(dir, "other")
	if err != nil {
		t.Fatalf("TryLock of another pair: %v", err)
	}
	unlockOther()

	// Held: TryLock fails at once, Lock gives up when its context ends.
	if _, err := status.TryLock(dir, "pair"); !errors.Is(err, status.ErrLocked) {
		t.Errorf("TryLock on a held lock = %v, want ErrLocked", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	_, err = status.Lock(ctx, dir, "pair")
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Lock with a short timeout = %v, want DeadlineExceeded", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, err := status.Lock(ctx, dir, "pair"); !errors.Is(err, context.Canceled) {
		t.Errorf("Lock with a cancelled context = %v, want Canceled", err)
	}

	// A waiting Lock gets the lock once it is released, not before.
	acquired := make(chan func())
	go func() {
		u, err := status.Lock(context.Background(), dir, "pair")
		if err != nil {
			t.Error(err)
			u = func() {}
		}
		acquired <- u
	}()
	select {
	case u := <-acquired:
		u()
		t.Fatal("second Lock acquired a held lock")
	case <-time.After(100 * time.Millisecond):
	}
	unlock()
	unlock() // idempotent
	select {
	case u := <-acquired:
		u()
	case <-time.After(10 * time.Second):
		t.Fatal("second Lock did not acquire the released lock")
	}

	// Released again: free.
	u, err := status.TryLock(dir, "pair")
	if err != nil {
		t.Fatalf("TryLock after release: %v", err)
	}
	u()
}

func TestLockErrors(t *testing.T) {
	dir := t.TempDir()
	for _, pair := range []string{"", "a/b"} {
		if _, err := status.Lock(context.Background(), dir, pair); err == nil {
			t.Errorf("Lock(%q) succeeded", pair)
		}
	}
	missing := filepath.Join(dir, "missing")
	if _, err := status.Lock(context.Background(), missing, "p"); err == nil {
		t.Error("Lock in a missing directory succeeded")
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Lock created the directory (stat: %v)", err)
	}
}
