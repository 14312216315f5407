package auth

import (
	"fmt"
	"os"
	"sync"
	"time"
)

// reloader holds a value parsed from one or more files and parses them
// again when any of them changes on disk (modification time or size), so
// certificates, JWKS and API keys can be rotated without a restart. A
// file that fails to parse (for example one caught half-written) leaves
// the last good value in place; the error is reported through onError and
// the files are tried again at the next check.
type reloader[T any] struct {
	paths   []string
	parse   func() (T, error)
	every   time.Duration // at most one stat per interval (0: on every get)
	onError func(error)

	mu      sync.Mutex
	val     T
	stamps  []fileStamp
	checked time.Time
}

type fileStamp struct {
	mod  time.Time
	size int64
}

// newReloader parses the files once; an error here is a startup error.
func newReloader[T any](paths []string, every time.Duration, parse func() (T, error), onError func(error)) (*reloader[T], error) {
	r := &reloader[T]{paths: paths, parse: parse, every: every, onError: onError}
	stamps, err := r.stat()
	if err != nil {
		return nil, err
	}
	v, err := parse()
	if err != nil {
		return nil, err
	}
	r.val, r.stamps, r.checked = v, stamps, time.Now()
	return r, nil
}

func (r *reloader[T]) stat() ([]fileStamp, error) {
	out := make([]fileStamp, len(r.paths))
	for i, p := range r.paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		out[i] = fileStamp{fi.ModTime(), fi.Size()}
	}
	return out, nil
}

// get returns the current value, reloading it first when a file changed.
func (r *reloader[T]) get() T {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if r.every > 0 && now.Sub(r.checked) < r.every {
		return r.val
	}
	r.checked = now
	stamps, err := r.stat()
	if err != nil {
		r.report(err)
		return r.val
	}
	if sameStamps(stamps, r.stamps) {
		return r.val
	}
	v, err := r.parse()
	if err != nil {
		r.report(err)
		return r.val
	}
	r.val, r.stamps = v, stamps
	return r.val
}

func (r *reloader[T]) report(err error) {
	if r.onError != nil {
		r.onError(fmt.Errorf("reloading %v (keeping the previous version): %w", r.paths, err))
	}
}

func sameStamps(a, b []fileStamp) bool {
	for i := range a {
		if !a[i].mod.Equal(b[i].mod) || a[i].size != b[i].size {
			return false
		}
	}
	return true
}
