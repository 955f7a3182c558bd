//go:build unix

package status

import "golang.org/x/sys/unix"

// mapThreshold is the size from which arena memory comes from the system (mmap)
// rather than the Go heap: it holds no pointers, so the garbage collector need not see
// it, and memory the collector does not count does not raise its heap goal (a no-op
// over 100,000 rows would otherwise let the heap grow to twice the rows' size).
const mapThreshold = 256 << 10

// allocArena returns n zeroed bytes and whether they must be given back with
// freeArena.
func allocArena(n int) ([]byte, bool) {
	if n >= mapThreshold {
		if b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE); err == nil {
			return b, true
		}
	}
	return make([]byte, n), false
}

func freeArena(b []byte) { _ = unix.Munmap(b) }
