package main

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sundial-io/sundial/internal/store/pgstore/pgtest"
)

func noEnv(string) (string, bool) { return "", false }

func TestNodeAddrFlag(t *testing.T) {
	const pgURL = "postgres://u@db:5432/sundial"
	o, err := parseStart([]string{"--postgres", pgURL, "--node-addr", "10.0.0.5:7300"}, noEnv)
	if err != nil || o.nodeAddr != "10.0.0.5:7300" {
		t.Fatalf("--node-addr: %+v, %v", o, err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--memory", "--node-addr", "10.0.0.5:7300"}, "--node-addr 10.0.0.5:7300 needs --postgres"},
		{[]string{"--postgres", pgURL, "--node-addr", "10.0.0.5"}, "is not HOST:PORT"},
		{[]string{"--postgres", pgURL, "--node-addr", ":7300"}, "with a host and a port"},
		{[]string{"--postgres", pgURL, "--node-addr", "h:99999"}, "with a host and a port"},
	} {
		if _, err := parseStart(c.args, noEnv); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("parseStart(%q) err = %v, want %q", c.args, err, c.want)
		}
	}
}

// TestNodeAddrJoinsCluster starts two processes with --postgres and
// --node-addr on one database: both say they are nodes of a 64-shard
// cluster, share the shards, and when one stops gracefully the other
// holds them all.
func TestNodeAddrJoinsCluster(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	url := pg.NewDatabase(t)
	a := startBin(t, nil, "--postgres", url, "--node-addr", "127.0.0.1:18501", "--port", "0", "--headless")
	if !strings.Contains(a.stdout.String(), "node 127.0.0.1:18501 of a cluster of 64 shards (holding 64; requests for workflows of other nodes") {
		t.Fatalf("first node's startup line: %q", a.stdout)
	}
	b := startBin(t, nil, "--postgres", url, "--node-addr", "127.0.0.1:18502", "--port", "0", "--headless")
	if !strings.Contains(b.stdout.String(), "node 127.0.0.1:18502 of a cluster of 64 shards") {
		t.Fatalf("second node's startup line: %q", b.stdout)
	}
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	owners := func() map[string]int {
		rows, _ := conn.Query(t.Context(), `SELECT coalesce(owner, '') FROM shard_leases`)
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]int{}
		for _, o := range got {
			m[o]++
		}
		return m
	}
	wait := func(want map[string]int) {
		t.Helper()
		deadline := time.Now().Add(40 * time.Second)
		for {
			got := owners()
			ok := len(got) == len(want)
			for k, v := range want {
				ok = ok && got[k] == v
			}
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("shard owners %v, want %v", got, want)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	wait(map[string]int{"127.0.0.1:18501": 32, "127.0.0.1:18502": 32})
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	_ = a.cmd.Wait()
	wait(map[string]int{"127.0.0.1:18502": 64})
	var n int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM nodes WHERE node_id = '127.0.0.1:18501'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the stopped node's row: %d, %v; want it removed", n, err)
	}
}
