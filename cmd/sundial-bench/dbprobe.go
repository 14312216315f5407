package main

import (
	"context"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
)

// dbProbe measures the PostgreSQL server that holds the store of the
// server under test, when the bench started it (-stores): the CPU time of
// the postmaster and all its processes, from /proc, and two exact counters
// read over SQL: WAL bytes written (the WAL insert position) and write
// transactions (the next transaction id; only transactions that write get
// one, so with the store's group commit this counts groups). The probe's
// own queries write nothing.
type dbProbe struct {
	pid  int // postmaster
	conn *pgx.Conn
}

// dbSample is one reading; ok fields say what could be read.
type dbSample struct {
	at           time.Time
	cpu          float64
	cpuOK        bool
	lsn, nextXID int64
	sqlOK        bool
}

// newDBProbe connects to url (any database of the server) to read its
// counters.
func newDBProbe(ctx context.Context, pid int, url string) (*dbProbe, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, url)
	if err != nil {
		return nil, err
	}
	return &dbProbe{pid: pid, conn: conn}, nil
}

func (p *dbProbe) close() {
	if p != nil {
		p.conn.Close(context.Background())
	}
}

func (p *dbProbe) sample(ctx context.Context) dbSample {
	s := dbSample{at: time.Now()}
	if p == nil {
		return s
	}
	var err error
	s.cpu, err = treeCPUSeconds(p.pid)
	s.cpuOK = err == nil
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err = p.conn.QueryRow(qctx, `SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::int8,
		pg_snapshot_xmax(pg_current_snapshot())::text::int8`).Scan(&s.lsn, &s.nextXID)
	s.sqlOK = err == nil
	return s
}

// finish records the database's CPU, WAL bytes and write transactions
// since s0 in r (CPU before the meter computes other processes' load).
func (p *dbProbe) finish(s0 dbSample, r *Result) {
	if p == nil {
		return
	}
	s1 := p.sample(context.Background())
	if s0.cpuOK && s1.cpuOK {
		d := ticks(s1.cpu - s0.cpu)
		r.DBCPUSeconds = &d
	}
	if s0.sqlOK && s1.sqlOK {
		if r.Extra == nil {
			r.Extra = map[string]float64{}
		}
		r.Extra["db_wal_bytes"] = float64(s1.lsn - s0.lsn)
		r.Extra["db_write_txns"] = float64(s1.nextXID - s0.nextXID)
	}
}

// perOp turns the database totals into per-operation figures once the
// scenario's completed count is known. The totals span the whole metered
// window (warm-up included), as the server's CPU per op does.
func (p *dbProbe) perOp(r *Result, completed int) {
	if p == nil || completed == 0 {
		return
	}
	if r.DBCPUSeconds != nil {
		v := math.Round(*r.DBCPUSeconds*1e6/float64(completed)) / 1000
		r.DBCPUMsPerOp = &v
	}
	if w, ok := r.Extra["db_wal_bytes"]; ok {
		r.Extra["db_wal_bytes_per_op"] = math.Round(w / float64(completed))
	}
	if t, ok := r.Extra["db_write_txns"]; ok && t > 0 {
		r.Extra["db_ops_per_write_txn"] = math.Round(float64(completed)/t*100) / 100
	}
}
