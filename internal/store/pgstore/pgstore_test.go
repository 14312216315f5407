package pgstore

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/store/pgstore/pgtest"
	"github.com/sundial-io/sundial/internal/store/storetest"
)

func mustOpen(t testing.TB, url string) *Store {
	t.Helper()
	s, err := Open(t.Context(), url, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// TestConformance runs the shared store suite; each dir the suite opens is
// a database of its own, reopened by URL.
func TestConformance(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	var mu sync.Mutex
	dbs := map[string]string{}
	storetest.Run(t, func(t *testing.T, dir string) store.Store {
		mu.Lock()
		url, ok := dbs[dir]
		if !ok {
			url = pg.NewDatabase(t)
			dbs[dir] = url
		}
		mu.Unlock()
		return mustOpen(t, url)
	})
}

func schemaVersion(t *testing.T, url string) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var v int
	if err := conn.QueryRow(t.Context(), `SELECT version FROM sundial_schema WHERE id = 1`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestMigrations: a fresh database is migrated to the newest version,
// opening it again changes nothing (its data stays), concurrent first
// opens migrate once, and a database at a newer version is refused with
// an error that says so.
func TestMigrations(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	if SchemaVersion() < 2 {
		t.Fatalf("SchemaVersion = %d, want the embedded migrations 1..N (N >= 2)", SchemaVersion())
	}
	url := pg.NewDatabase(t)
	s := mustOpen(t, url)
	if v := schemaVersion(t, url); v != SchemaVersion() {
		t.Fatalf("fresh database at schema version %d, want %d", v, SchemaVersion())
	}
	c, err := s.Apply(&store.Batch{Namespaces: []*store.Namespace{{NamespaceInfo: nsInfo("kept")}}})
	if err == nil {
		err = c.Wait()
	}
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = mustOpen(t, url) // a no-op migration
	ns, err := s.Namespaces(t.Context())
	if err != nil || len(ns) != 1 {
		t.Fatalf("after reopen: namespaces %v, %v", ns, err)
	}
	s.Close()
	if v := schemaVersion(t, url); v != SchemaVersion() {
		t.Fatalf("reopened database at schema version %d, want %d", v, SchemaVersion())
	}

	// Several processes starting at once on a fresh database: one
	// migrates, the others wait on the version row and find nothing to do.
	url2 := pg.NewDatabase(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			s, err := Open(t.Context(), url2, Options{})
			if err != nil {
				errs <- err
				return
			}
			s.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Open: %v", err)
	}
	if v := schemaVersion(t, url2); v != SchemaVersion() {
		t.Fatalf("after concurrent opens: schema version %d, want %d", v, SchemaVersion())
	}

	// A newer Sundial migrated this database further.
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(t.Context(), `UPDATE sundial_schema SET version = version + 1`); err != nil {
		t.Fatal(err)
	}
	conn.Close(t.Context())
	_, err = Open(t.Context(), url, Options{})
	if !errors.Is(err, ErrSchemaTooNew) || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open(newer schema) err = %v, want ErrSchemaTooNew", err)
	}
}

// TestMigrationsFromVersion1 upgrades a database left at version 1 (by an
// older build) in place, keeping its data.
func TestMigrationsFromVersion1(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	url := pg.NewDatabase(t)
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, q := range []string{
		`CREATE TABLE sundial_schema (id INT PRIMARY KEY, version INT NOT NULL)`,
		`INSERT INTO sundial_schema VALUES (1, 1)`,
		ms[0].sql,
		`INSERT INTO runs (namespace, run_id, workflow_id, record) VALUES ('ns', 'r', 'w', '')`,
	} {
		if _, err := conn.Exec(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	s := mustOpen(t, url)
	defer s.Close()
	if v := schemaVersion(t, url); v != SchemaVersion() {
		t.Fatalf("upgraded database at schema version %d, want %d", v, SchemaVersion())
	}
	if _, err := s.Run(t.Context(), "ns", "r"); err != nil {
		t.Fatalf("run written at version 1: %v", err)
	}
}

func TestClosed(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	s := mustOpen(t, pg.NewDatabase(t))
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

func TestDescribe(t *testing.T) {
	got := Describe("postgres://user:secret@db.example:6543/sundial?sslmode=disable")
	if got != "db.example:6543/sundial" || strings.Contains(got, "secret") {
		t.Fatalf("Describe = %q", got)
	}
}

func TestLimitPage(t *testing.T) {
	if limitPage != " LIMIT "+strconv.Itoa(scanPage) {
		t.Fatalf("limitPage %q does not match scanPage %d", limitPage, scanPage)
	}
}
