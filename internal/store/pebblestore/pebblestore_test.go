package pebblestore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"

	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/store/storetest"
)

func TestConformanceDisk(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dir string) store.Store {
		return mustOpen(t, dir, Options{})
	})
}

func TestConformanceDiskNoSync(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dir string) store.Store {
		return mustOpen(t, dir, Options{NoSync: true})
	})
}

func TestConformanceMemory(t *testing.T) {
	// One memory file system per dir, so the suite can reopen a store.
	var mu sync.Mutex
	fss := map[string]vfs.FS{}
	storetest.Run(t, func(t *testing.T, dir string) store.Store {
		mu.Lock()
		fs, ok := fss[dir]
		if !ok {
			fs = vfs.NewMem()
			fss[dir] = fs
		}
		mu.Unlock()
		return mustOpen(t, dir, Options{InMemory: true, FS: fs})
	})
}

func mustOpen(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// crash simulates a power cut: everything not fsynced is lost.
func crash(t *testing.T, s *Store, fs *vfs.MemFS) {
	t.Helper()
	fs.SetIgnoreSyncs(true)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fs.ResetToSyncedState()
	fs.SetIgnoreSyncs(false)
}

// TestCrashKeepsWaitedWrites checks the durability promise: once Wait
// returns, a write survives a crash. The NoSync half proves the simulated
// crash really drops unsynced data, so the first half tests something.
func TestCrashKeepsWaitedWrites(t *testing.T) {
	for _, noSync := range []bool{false, true} {
		fs := vfs.NewStrictMem()
		opts := Options{InMemory: true, FS: fs, NoSync: noSync}
		s := mustOpen(t, "db", opts)
		const n = 20
		for i := 1; i <= n; i++ {
			r := &store.RunRecord{Namespace: "ns", WorkflowID: "wf", RunID: "run"}
			c, err := s.Apply(&store.Batch{Runs: []*store.RunWrite{{Record: r, Events: testEvents(int64(i), 1), SetCurrent: true}}})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Wait(); err != nil {
				t.Fatal(err)
			}
		}
		crash(t, s, fs)
		s = mustOpen(t, "db", opts)
		h, err := s.History(t.Context(), "ns", "run", 1, 0)
		switch {
		case !noSync && (err != nil || len(h) != n):
			t.Fatalf("after crash: %d events, err %v; want all %d", len(h), err, n)
		case noSync && err == nil && len(h) == n:
			t.Fatalf("NoSync store kept all %d unsynced events through a crash: the crash simulation is not working", n)
		}
		s.Close()
	}
}

func TestRefusesForeignDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir, Options{})
	if err == nil || !strings.Contains(err.Error(), "holds no Sundial store") {
		t.Fatalf("Open(foreign dir) err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "CURRENT")); err == nil {
		t.Fatal("Open created a database in a foreign dir")
	}
}

// TestRefusesCorruptStore damages each kind of file of a cleanly closed
// store (Close flushes, so the data is in sstables) and expects Open to say
// the data dir is corrupt.
func TestRefusesCorruptStore(t *testing.T) {
	for _, pattern := range []string{"MANIFEST-*", "OPTIONS-*", "*.sst"} {
		t.Run(pattern, func(t *testing.T) {
			dir := t.TempDir()
			s := mustOpen(t, dir, Options{})
			c, err := s.Apply(&store.Batch{Namespaces: []*store.Namespace{{NamespaceInfo: nsInfo("default")}}})
			if err == nil {
				err = c.Wait()
			}
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			files, _ := filepath.Glob(filepath.Join(dir, pattern))
			if len(files) == 0 {
				t.Fatalf("no %s file in %s", pattern, dir)
			}
			for _, f := range files {
				if err := os.WriteFile(f, []byte("\x00garbage\xff not a pebble file"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err = Open(dir, Options{})
			if err == nil || !strings.Contains(err.Error(), "corrupt") {
				t.Fatalf("Open(corrupt %s) err = %v", pattern, err)
			}
		})
	}
}

func TestRefusesUnknownVersion(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	if err := s.db.Set([]byte(versionKey), []byte("99"), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(dir, Options{})
	if err == nil || !strings.Contains(err.Error(), `version "99"`) {
		t.Fatalf("Open(version 99) err = %v", err)
	}
}

func TestRefusesPebbleDBWithoutMarker(t *testing.T) {
	dir := t.TempDir()
	db, err := pebble.Open(dir, &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Set([]byte("someone else's key"), nil, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = Open(dir, Options{})
	if err == nil || !strings.Contains(err.Error(), "without a Sundial version marker") {
		t.Fatalf("Open(foreign pebble db) err = %v", err)
	}
}

func TestClosed(t *testing.T) {
	s := mustOpen(t, "db", Options{InMemory: true})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(&store.Batch{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Apply after Close: %v", err)
	}
	if _, err := s.Run(t.Context(), "ns", "run"); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close: %v", err)
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
}

// TestInitialisesInterruptedCreation covers a first start that crashed
// after Pebble created its files but before the version marker was
// written: the dir holds an empty database, which Open adopts.
func TestInitialisesInterruptedCreation(t *testing.T) {
	dir := t.TempDir()
	db, err := pebble.Open(dir, &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	s := mustOpen(t, dir, Options{})
	s.Close()
	s = mustOpen(t, dir, Options{}) // and the marker is now there
	s.Close()
}

func TestRefusesSecondOpen(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	defer s.Close()
	_, err := Open(dir, Options{})
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second Open err = %v", err)
	}
}
