package pgstore

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.temporal.io/api/operatorservice/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sundial-io/sundial/internal/store"
)

// Conditional batches (store.ErrConflict). A group holding a batch with
// expectations is written like a fenced group (fence.go), in an explicit
// transaction whose first round trip also reads the expected rows with
// SELECT ... FOR UPDATE. The batches are then judged in group order
// against those rows as the earlier batches of the group leave them; a
// batch whose expectation fails is left out and fails alone with
// store.ErrConflict. The row locks hold until the commit, so a concurrent
// writer of an existing row (another node) waits and then reads what this
// transaction wrote.
//
// A row that does not exist cannot be locked: a batch expecting a record
// to be absent writes it with a plain INSERT first, so two nodes
// inserting one name at once collide on the primary key (the second
// waits for the first, then fails with unique_violation, SQLSTATE 23505);
// the group is then retried (retryableChecked) and its check now sees the
// row. All of this is SQL that CockroachDB and YugabyteDB support.

// condRows are the current values of the rows a group's expectations
// name, as the check read them and the kept batches then wrote them
// (nil: no row).
type condRows struct {
	namespaces map[string][]byte
	searchAttr map[string][]byte
	records    map[string][]byte // by joinKey(kind, key)
}

// queueConditionRead queues the reads (with row locks) of the rows the
// group's expectations name, filling rows.
func queueConditionRead(b *pgx.Batch, group []*commit, rows *condRows) {
	var nsKeys, saKeys [][]byte
	for _, c := range group {
		for _, x := range c.enc.expectNS {
			nsKeys = append(nsKeys, []byte(x.Name))
		}
		for _, x := range c.enc.expectSA {
			saKeys = append(saKeys, []byte(x.Namespace))
		}
	}
	rows.namespaces, rows.searchAttr, rows.records = map[string][]byte{}, map[string][]byte{}, map[string][]byte{}
	read := func(sql string, keys [][]byte, into map[string][]byte) {
		if len(keys) == 0 {
			return
		}
		b.Queue(sql, keys).Query(func(r pgx.Rows) error {
			for r.Next() {
				var k, v []byte
				if err := r.Scan(&k, &v); err != nil {
					return err
				}
				into[string(k)] = v
			}
			return r.Err()
		})
	}
	read(`SELECT name, info FROM namespaces WHERE name = ANY($1::bytea[]) ORDER BY name FOR UPDATE`, nsKeys, rows.namespaces)
	read(`SELECT namespace, registry FROM search_attributes WHERE namespace = ANY($1::bytea[]) ORDER BY namespace FOR UPDATE`, saKeys, rows.searchAttr)
	// Records: one locking read per expected record, in key order (admin
	// batches expect one or two).
	var recKeys []store.RecordKey
	for _, c := range group {
		for _, x := range c.enc.expectRec {
			recKeys = append(recKeys, store.RecordKey{Kind: x.Kind, Key: x.Key})
		}
	}
	slices.SortFunc(recKeys, func(a, b store.RecordKey) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Key, b.Key))
	})
	for _, k := range slices.Compact(recKeys) {
		b.Queue(`SELECT state FROM records WHERE kind = $1 AND key = $2 FOR UPDATE`, []byte(k.Kind), []byte(k.Key)).Query(func(r pgx.Rows) error {
			for r.Next() {
				var v []byte
				if err := r.Scan(&v); err != nil {
					return err
				}
				rows.records[recordID(k.Kind, k.Key)] = append([]byte{}, v...) // non-nil: found
			}
			return r.Err()
		})
	}
}

// recordID identifies a keyed record in condRows.records.
func recordID(kind, key string) string { return joinKey([][]byte{[]byte(kind), []byte(key)}) }

// check returns a store.ErrConflict error unless every expectation of e
// holds against rows.
func (rows *condRows) check(e *encoded) error {
	for _, x := range e.expectNS {
		var stored *store.Namespace
		if v, ok := rows.namespaces[x.Name]; ok && v != nil {
			stored = &store.Namespace{}
			if err := proto.Unmarshal(v, stored); err != nil {
				return fmt.Errorf("pgstore: corrupt namespace %q: %w", x.Name, err)
			}
		}
		if !x.Holds(stored) {
			return fmt.Errorf("%w: namespace %q changed since it was read", store.ErrConflict, x.Name)
		}
	}
	for _, x := range e.expectSA {
		v, found := rows.searchAttr[x.Namespace]
		found = found && v != nil
		var m operatorservice.ListSearchAttributesResponse
		if found {
			if err := proto.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("pgstore: corrupt search attributes of %q: %w", x.Namespace, err)
			}
		}
		if !x.Holds(m.CustomAttributes, found) {
			return fmt.Errorf("%w: search attributes of %q changed since they were read", store.ErrConflict, x.Namespace)
		}
	}
	for _, x := range e.expectRec {
		v := rows.records[recordID(x.Kind, x.Key)]
		if !x.Holds(v, v != nil) {
			return fmt.Errorf("%w: record %s/%q changed since it was read", store.ErrConflict, x.Kind, x.Key)
		}
	}
	return nil
}

// wrote records what a kept batch writes to the rows being tracked, for
// the checks of the later batches of the group.
func (rows *condRows) wrote(e *encoded) {
	for _, n := range e.namespaces {
		rows.namespaces[string(n.k)] = n.v
	}
	for _, k := range e.nsDeletes {
		rows.namespaces[string(k)] = nil
	}
	for _, r := range e.searchAttrs {
		rows.searchAttr[string(r.k)] = r.v
	}
	for _, op := range e.keyed {
		if op.t != tableRecords {
			continue
		}
		id := joinKey(op.key)
		if op.del {
			rows.records[id] = nil
		} else {
			rows.records[id] = append([]byte{}, op.state...)
		}
	}
}

// queueAbsentInserts queues, for a kept batch, the plain INSERTs of the
// records it expects to be absent (see above).
func queueAbsentInserts(b *pgx.Batch, e *encoded) {
	for _, x := range e.expectNS {
		if x.Was != nil {
			continue
		}
		for _, n := range e.namespaces {
			if string(n.k) == x.Name {
				b.Queue(`INSERT INTO namespaces (name, info) VALUES ($1, $2)`, n.k, n.v)
			}
		}
	}
	for _, x := range e.expectSA {
		if !x.Absent {
			continue
		}
		for _, r := range e.searchAttrs {
			if string(r.k) == x.Namespace {
				b.Queue(`INSERT INTO search_attributes (namespace, registry) VALUES ($1, $2)`, r.k, r.v)
			}
		}
	}
	for _, x := range e.expectRec {
		if !x.Absent {
			continue
		}
		for _, op := range e.keyed {
			if op.t == tableRecords && !op.del && joinKey(op.key) == recordID(x.Kind, x.Key) {
				b.Queue(`INSERT INTO records (kind, key, state) VALUES ($1, $2, $3)`, op.key[0], op.key[1], op.state)
			}
		}
	}
}

// validateExpectations checks, in encode, that a batch expecting a
// record to be absent writes it (the plain INSERT is what serializes two
// such batches).
func validateExpectations(b *store.Batch) error {
	for _, x := range b.ExpectNamespaces {
		if x.Name == "" {
			return errors.New("pgstore: namespace expectation without a name")
		}
		if x.Was != nil {
			continue
		}
		writes := false
		for _, ns := range b.Namespaces {
			writes = writes || ns.GetNamespaceInfo().GetName() == x.Name
		}
		if !writes {
			return fmt.Errorf("pgstore: batch expects namespace %q to be absent but does not write it", x.Name)
		}
	}
	for _, x := range b.ExpectSearchAttributes {
		if x.Namespace == "" {
			return errors.New("pgstore: search attribute expectation without a namespace")
		}
		if !x.Absent {
			continue
		}
		writes := false
		for _, r := range b.SearchAttributes {
			writes = writes || (r != nil && r.Namespace == x.Namespace)
		}
		if !writes {
			return fmt.Errorf("pgstore: batch expects no search attributes of %q but does not write them", x.Namespace)
		}
	}
	for _, x := range b.ExpectRecords {
		if x.Kind == "" {
			return errors.New("pgstore: record expectation without a kind")
		}
		if !x.Absent {
			continue
		}
		writes := false
		for _, r := range b.Records {
			writes = writes || (r != nil && r.Kind == x.Kind && r.Key == x.Key)
		}
		if !writes {
			return fmt.Errorf("pgstore: batch expects no record %s/%q but does not write it", x.Kind, x.Key)
		}
	}
	return nil
}

// retryableChecked reports whether a checked group's transaction failed
// on a concurrent insert of a row it expected absent: retried, the check
// sees the row and fails only the batch that expected it absent.
func retryableChecked(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// cloneExpectNS and cloneExpectSA copy expectations, so the caller may
// reuse its batch once Apply returns.
func cloneExpectNS(xs []store.NamespaceExpect) []store.NamespaceExpect {
	out := make([]store.NamespaceExpect, len(xs))
	for i, x := range xs {
		out[i] = store.NamespaceExpect{Name: x.Name}
		if x.Was != nil {
			out[i].Was = proto.Clone(x.Was).(*store.Namespace)
		}
	}
	return out
}

func cloneExpectRec(xs []store.RecordExpect) []store.RecordExpect {
	out := make([]store.RecordExpect, len(xs))
	for i, x := range xs {
		out[i] = store.RecordExpect{Kind: x.Kind, Key: x.Key, Was: slices.Clone(x.Was), Absent: x.Absent}
	}
	return out
}

func cloneExpectSA(xs []store.SearchAttributesExpect) []store.SearchAttributesExpect {
	out := make([]store.SearchAttributesExpect, len(xs))
	for i, x := range xs {
		out[i] = store.SearchAttributesExpect{Namespace: x.Namespace, Was: maps.Clone(x.Was), Absent: x.Absent}
	}
	return out
}

// anyChecked reports whether a batch of the group carries a fence or
// expectations: such a group is written by execChecked.
func anyChecked(group []*commit) bool {
	for _, c := range group {
		if c.enc.fence != nil || c.enc.expectNS != nil || c.enc.expectSA != nil || c.enc.expectRec != nil {
			return true
		}
	}
	return false
}

// appendBatch appends the queued statements of more to b.
func appendBatch(b, more *pgx.Batch) {
	b.QueuedQueries = append(b.QueuedQueries, more.QueuedQueries...)
}
