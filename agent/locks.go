package agent

import "sync"

// lockTable keeps two transfers from touching the same file at once. A
// writer (a push that is not a dry run) excludes everyone; readers (pulls
// and dry runs) only exclude writers. Locks never wait: a conflict is
// reported at once, so that the client gets a clear "busy" error.
type lockTable struct {
	mu sync.Mutex
	m  map[fileKey]int // > 0: readers; -1: one writer
}

// tryLock takes the lock on k; it reports false when k is busy.
func (t *lockTable) tryLock(k fileKey, write bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = make(map[fileKey]int)
	}
	n := t.m[k]
	switch {
	case write && n != 0, !write && n < 0:
		return false
	case write:
		t.m[k] = -1
	default:
		t.m[k] = n + 1
	}
	return true
}

// unlock releases a lock taken with tryLock.
func (t *lockTable) unlock(k fileKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := t.m[k]; n > 1 {
		t.m[k] = n - 1
	} else {
		delete(t.m, k)
	}
}
