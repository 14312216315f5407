package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// The cluster's internal secret: a random value the first node stores in
// the shared database (a keyed record of pgstore's records table, a kind
// no engine reads) and every node reads at join. Nodes send it with every
// call to another node's internal port, which refuses calls without it
// (forward.Forwarder.Authenticate): whoever can reach a node address but
// cannot read the database cannot call it. Concurrent first nodes: one
// insert wins, the others read it.

const (
	secretKind = "sundial-cluster"
	secretKey  = "internal-secret"
)

func ensureSecret(ctx context.Context, pool *pgxpool.Pool) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("cluster: internal secret: %w", err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO records (kind, key, state) VALUES ($1, $2, $3) ON CONFLICT (kind, key) DO NOTHING`,
		[]byte(secretKind), []byte(secretKey), []byte(hex.EncodeToString(b))); err != nil {
		return "", fmt.Errorf("cluster: record the internal secret: %w", err)
	}
	var v []byte
	if err := pool.QueryRow(ctx, `SELECT state FROM records WHERE kind = $1 AND key = $2`, []byte(secretKind), []byte(secretKey)).Scan(&v); err != nil {
		return "", fmt.Errorf("cluster: read the internal secret: %w", err)
	}
	return string(v), nil
}

// Secret is the cluster's internal secret, which calls between nodes carry.
func (n *Node) Secret() string { return n.secret }
