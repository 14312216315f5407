package pebblestore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// CheckDir tells, before anything is created on disk, why dir cannot hold
// a store: it (or the directory it would be created in) is not a
// directory, is not writable (permission denied, read-only file system),
// or its store is locked by another process. It returns nil when the open
// may go ahead; Open still reports anything CheckDir cannot foresee.
func CheckDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case err == nil:
		if !fi.IsDir() {
			return fmt.Errorf("data dir %q is not a directory", dir)
		}
		if err := syscall.Access(dir, 7 /* R_OK|W_OK|X_OK */); err != nil {
			return fmt.Errorf("data dir %q cannot be used: %s", dir, cause(err))
		}
		if err := checkLock(dir); err != nil {
			return err
		}
		return checkContents(dir)
	case errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		parent := dir
		for {
			next := filepath.Dir(parent)
			if next == parent {
				return fmt.Errorf("cannot create data dir %q: no existing parent directory", dir)
			}
			parent = next
			pi, err := os.Stat(parent)
			if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				continue
			}
			if err != nil {
				return fmt.Errorf("cannot create data dir %q: %s: %s", dir, parent, cause(err))
			}
			if !pi.IsDir() {
				return fmt.Errorf("cannot create data dir %q: %s is not a directory", dir, parent)
			}
			if err := syscall.Access(parent, 3 /* W_OK|X_OK */); err != nil {
				return fmt.Errorf("cannot create data dir %q in %s: %s", dir, parent, cause(err))
			}
			return nil
		}
	default:
		return fmt.Errorf("data dir %q cannot be used: %s", dir, cause(err))
	}
}

// checkLock finds whether another process holds the store's lock (Pebble
// takes an fcntl write lock on dir/LOCK), without taking it: F_GETLK
// only asks.
func checkLock(dir string) error {
	name := filepath.Join(dir, "LOCK")
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("data dir %q cannot be used: %s: %s", dir, name, cause(err))
	}
	defer f.Close()
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_GETLK, &lk); err != nil {
		return nil // cannot tell; Open will find out
	}
	if lk.Type != syscall.F_UNLCK {
		return fmt.Errorf("data dir %q is in use by another process (pid %d)", dir, lk.Pid)
	}
	return nil
}

// cause names the reason behind a file system error in words.
func cause(err error) string {
	switch {
	case errors.Is(err, syscall.EROFS):
		return "read-only file system"
	case errors.Is(err, os.ErrPermission):
		return "permission denied"
	case errors.Is(err, syscall.ENOSPC):
		return "no space left on device"
	case errors.Is(err, syscall.ENOTDIR):
		return "not a directory"
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// isLockConflict reports whether Open failed because another process holds
// the store's lock: fcntl answers EAGAIN or EACCES, unwrapped (an EACCES
// from opening a file comes as a *os.PathError).
func isLockConflict(err error) bool {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return false
	}
	return errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES)
}

// checkContents refuses a non-empty directory that holds no Pebble store
// (no MANIFEST), before Pebble would create its LOCK file in it.
func checkContents(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("data dir %q cannot be read: %s", dir, cause(err))
	}
	other := ""
	for _, e := range entries {
		switch name := e.Name(); {
		case strings.HasPrefix(name, "MANIFEST-"):
			return nil
		case name != "LOCK" && other == "":
			other = name
		}
	}
	if other != "" {
		return fmt.Errorf("data dir %q is not empty and holds no Sundial store (refusing to use it; it contains %s)", dir, other)
	}
	return nil
}
