package storage

import "fmt"

// DefaultMaxItemSize is the largest item any storage reads when the configuration sets
// no max_item_size (pimsync.conf(5)). One limit for every storage means an item that
// one side refuses is never written to the other side, where it would then be refused
// on every later read.
const DefaultMaxItemSize = 8 << 20

// TooLargeError is an item (or an answer holding one) larger than the item-size limit.
// It matches ErrInvalidData: the item is listed but not fetchable, and nothing is
// written or deleted because of it.
type TooLargeError struct {
	Limit int64 // the limit in bytes
	Size  int64 // the size seen, or 0 when reading stopped at the limit
}

func (e *TooLargeError) Error() string {
	if e.Size > 0 {
		return fmt.Sprintf("the item has %d bytes, more than max_item_size (%d bytes)", e.Size, e.Limit)
	}
	return fmt.Sprintf("the item is larger than max_item_size (%d bytes)", e.Limit)
}

// Is makes errors.Is(err, ErrInvalidData) true.
func (e *TooLargeError) Is(target error) bool { return target == ErrInvalidData }
