package torture

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sundial-io/sundial/internal/store/pgstore/pgtest"
)

// fleet is the set of sundial processes under torture: one server on a
// data dir, or (Config.Nodes > 1) the nodes of a cluster sharing one
// PostgreSQL database, each on its own public port and node address.
type fleet struct {
	servers []*server
	logs    []string // log file of each server
	files   []*os.File
	pg      *pgtest.Server // the throwaway PostgreSQL of Postgres "auto"; nil otherwise
}

// clustered reports whether the run is against a cluster of nodes.
func (cfg *Config) clustered() bool { return cfg.Nodes > 1 || cfg.Postgres != "" }

// newFleet prepares (does not start) the servers of a run in dir.
func newFleet(cfg Config, dir string) (*fleet, error) {
	f := &fleet{}
	extra := []string{}
	if cfg.CacheSize != "" {
		extra = append(extra, "--cache-size", cfg.CacheSize)
	}
	if !cfg.clustered() {
		port, err := cfg.PortBase, error(nil)
		if port == 0 {
			port, err = freePort()
		}
		if err != nil {
			return nil, err
		}
		if err := f.addServer(dir, "server", "server.log", &server{bin: cfg.ServerBin, dir: filepath.Join(dir, "data"), port: port, extra: extra}); err != nil {
			f.close()
			return nil, err
		}
		return f, nil
	}
	url := cfg.Postgres
	if url == "auto" {
		pg, err := pgtest.StartServer(pgtest.Options{})
		if err != nil {
			return nil, fmt.Errorf("throwaway PostgreSQL: %w", err)
		}
		f.pg = pg
		if url, err = pg.CreateDatabase("torture"); err != nil {
			f.close()
			return nil, err
		}
	}
	nodes := max(cfg.Nodes, 1)
	for i := range nodes {
		// Public port and node address: from PortBase (two a node) or
		// free ports picked now; either way fixed for the run, so a
		// restarted node comes back at the same address.
		port, internal := cfg.PortBase+2*i, cfg.PortBase+2*i+1
		if cfg.PortBase == 0 {
			var err error
			if port, err = freePort(); err == nil {
				internal, err = freePort()
			}
			if err != nil {
				f.close()
				return nil, err
			}
		}
		args := append([]string{"--postgres", url, "--node-addr", fmt.Sprintf("127.0.0.1:%d", internal),
			"--lease-period", cfg.LeasePeriod.String()}, extra...)
		s := &server{bin: cfg.ServerBin, port: port, extra: args}
		if err := f.addServer(dir, fmt.Sprintf("node %d", i), fmt.Sprintf("node%d.log", i), s); err != nil {
			f.close()
			return nil, err
		}
	}
	return f, nil
}

func (f *fleet) addServer(dir, name, logName string, s *server) error {
	lf, err := os.Create(filepath.Join(dir, logName))
	if err != nil {
		return err
	}
	s.name, s.log = name, &syncWriter{f: lf}
	f.servers = append(f.servers, s)
	f.logs = append(f.logs, lf.Name())
	f.files = append(f.files, lf)
	return nil
}

// start starts every server (in order: the first node creates the
// cluster's tables).
func (f *fleet) start() error {
	for _, s := range f.servers {
		if err := s.start(); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}

// killAll SIGKILLs every server.
func (f *fleet) killAll() {
	for _, s := range f.servers {
		s.kill()
	}
}

// describe says where the servers listen and log, for the run's log.
func (f *fleet) describe() string {
	var parts []string
	for i, s := range f.servers {
		where := s.addr()
		if s.dir != "" {
			where += ", data " + s.dir
		}
		parts = append(parts, fmt.Sprintf("%s on %s (log %s)", s.name, where, f.logs[i]))
	}
	if f.pg != nil {
		parts = append(parts, fmt.Sprintf("PostgreSQL on %s:%d", f.pg.Host, f.pg.Port))
	}
	return strings.Join(parts, "; ")
}

// close SIGKILLs what still runs, stops the throwaway PostgreSQL and
// closes the log files.
func (f *fleet) close() {
	f.killAll()
	if f.pg != nil {
		f.pg.Stop()
	}
	for _, lf := range f.files {
		lf.Close()
	}
}
