//go:build !unix

package status

func allocArena(n int) ([]byte, bool) { return make([]byte, n), false }

func freeArena([]byte) {}
