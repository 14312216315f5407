package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Migrations are numbered SQL files embedded in the binary
// (migrations/NNNN_name.sql); file N takes the schema from version N-1 to
// N. A database records its version in sundial_schema, one row.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order; the
// numbers must run 1, 2, 3, ... without gaps.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, n := range names {
		base := strings.TrimPrefix(n, "migrations/")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("pgstore: migration file %q is not named NNNN_name.sql", base)
		}
		b, err := migrationFiles.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: base, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("pgstore: migration %q out of sequence (want version %d)", m.name, i+1)
		}
	}
	return out, nil
}

// SchemaVersion is the schema version this build creates and reads.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil {
		panic(err) // the embedded files are fixed at build time; a test checks them
	}
	return len(ms)
}

// ErrSchemaTooNew is returned by Open for a database a newer Sundial has
// migrated past what this build knows.
var ErrSchemaTooNew = errors.New("pgstore: database schema is newer than this build")

// migrate brings the schema up to date. Several processes may start at
// once on one database, so the version row is created if missing and then
// locked with SELECT ... FOR UPDATE for the whole migration, which runs in
// the same transaction: one process migrates, the others wait and then
// find nothing to do. Row locks and transactional DDL are what
// CockroachDB and YugabyteDB also offer; advisory locks are not.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	// Two processes creating the table at once can collide in PostgreSQL's
	// catalog (a unique violation on pg_type); the loser simply retries.
	for attempt := 0; ; attempt++ {
		_, err = pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS sundial_schema (id INT PRIMARY KEY, version INT NOT NULL)`)
		if err == nil || attempt == 2 {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("pgstore: create sundial_schema: %w", err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO sundial_schema (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING`); err != nil {
		return fmt.Errorf("pgstore: create schema version row: %w", err)
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var have int
		if err := tx.QueryRow(ctx, `SELECT version FROM sundial_schema WHERE id = 1 FOR UPDATE`).Scan(&have); err != nil {
			return fmt.Errorf("pgstore: read schema version: %w", err)
		}
		if have > len(ms) {
			return fmt.Errorf("%w: the database is at schema version %d, this build knows versions up to %d; run a newer Sundial (or restore a backup)", ErrSchemaTooNew, have, len(ms))
		}
		for _, m := range ms[have:] {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("pgstore: migration %s: %w", m.name, err)
			}
		}
		if have < len(ms) {
			if _, err := tx.Exec(ctx, `UPDATE sundial_schema SET version = $1 WHERE id = 1`, len(ms)); err != nil {
				return fmt.Errorf("pgstore: record schema version: %w", err)
			}
		}
		return nil
	})
}

// Migrate brings the schema of the database behind pool up to date, as
// Open does; for packages that keep tables of this schema through a pool
// of their own (internal/cluster).
func Migrate(ctx context.Context, pool *pgxpool.Pool) error { return migrate(ctx, pool) }
