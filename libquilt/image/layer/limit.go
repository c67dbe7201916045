package layer

import "sync/atomic"

// Limit is a size budget shared by the layers of one image, so that a
// decompression bomb stops with ErrTooLarge instead of filling the disk. An
// entry costs its header block (512 bytes) plus its size as the tar header
// gives it, which for a sparse file is its full apparent size. It is safe
// for concurrent use.
type Limit struct{ left atomic.Int64 }

// NewLimit returns a budget of n bytes.
func NewLimit(n int64) *Limit {
	l := new(Limit)
	l.left.Store(n)
	return l
}

// take charges n bytes and reports whether the budget allowed them.
func (l *Limit) take(n int64) bool {
	if l == nil {
		return true
	}
	return l.left.Add(-n) >= 0
}
