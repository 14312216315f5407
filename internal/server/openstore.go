package server

import (
	"context"
	"errors"
	"path/filepath"
	"time"

	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/store/pebblestore"
	"github.com/sundial-io/sundial/internal/store/pgstore"
)

// openStore opens the store the config names: PostgreSQL (Postgres), or
// Pebble in memory or in the data dir (checked first, so an unusable dir
// fails before anything is created). stats feeds the store gauges of the
// metrics (nil when the store has none: PostgreSQL reports its own); dir
// is the absolute data dir ("" when not on disk).
func openStore(cfg Config) (st store.Store, stats func() (pebblestore.Stats, bool), dir string, err error) {
	if cfg.Postgres != "" {
		if cfg.InMemory {
			return nil, nil, "", errors.New("a PostgreSQL store and an in-memory store cannot both be configured")
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		ps, err := pgstore.Open(ctx, cfg.Postgres, pgstore.Options{})
		if err != nil {
			return nil, nil, "", err
		}
		return ps, nil, "", nil
	}
	dir = cfg.DataDir
	if !cfg.InMemory {
		if dir, err = filepath.Abs(dir); err != nil {
			return nil, nil, "", err
		}
		if err := pebblestore.CheckDir(dir); err != nil {
			return nil, nil, "", err
		}
	}
	ps, err := pebblestore.Open(dir, pebblestore.Options{InMemory: cfg.InMemory})
	if err != nil {
		return nil, nil, "", err
	}
	return ps, ps.Stats, dir, nil
}

// StoreDescription says where the store lives, for the startup line:
// "PostgreSQL host:port/db", or "" for the Pebble stores (the caller names
// the data dir or memory).
func (s *Server) StoreDescription() string {
	if s.cfg.Postgres != "" {
		return "PostgreSQL " + pgstore.Describe(s.cfg.Postgres)
	}
	return ""
}
