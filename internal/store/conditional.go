package store

import (
	"bytes"
	"errors"
	"maps"

	enumspb "go.temporal.io/api/enums/v1"
	"google.golang.org/protobuf/proto"
)

// ErrConflict is returned (by Apply or by Commit.Wait) for a batch whose
// expectations (Batch.ExpectNamespaces, ExpectSearchAttributes,
// ExpectRecords) did
// not hold when the store wrote it: another writer, typically another
// node of a cluster, changed the record since the caller read it. Nothing
// of the batch is written. The caller reads again and retries, or answers
// as the changed record requires (AlreadyExists for a name registered
// meanwhile). It does not mean the store is broken.
var ErrConflict = errors.New("store: conflicting concurrent change")

// NamespaceExpect is a condition on one namespace record: the batch is
// written only if the stored record of Name equals Was (compared as
// protobuf messages), or, with Was nil, only if there is none. A batch
// expecting a name to be absent must write that name's record.
type NamespaceExpect struct {
	Name string
	Was  *Namespace
}

// SearchAttributesExpect is a condition on one namespace's search
// attribute registry: the batch is written only if the stored registry
// equals Was (same names and types), or, with Absent, only if none was
// ever written.
type SearchAttributesExpect struct {
	Namespace string
	Was       map[string]enumspb.IndexedValueType
	Absent    bool
}

// RecordExpect is a condition on one keyed record (Batch.Records): the
// batch is written only if the record's stored State equals Was
// (byte for byte; nil and empty are equal), or, with Absent, only if
// there is no such record. A batch expecting a record to be absent must
// write it.
type RecordExpect struct {
	Kind, Key string
	Was       []byte
	Absent    bool
}

// Holds reports whether a stored record state (found false: none) meets e.
func (e RecordExpect) Holds(stored []byte, found bool) bool {
	if e.Absent || !found {
		return e.Absent && !found
	}
	return bytes.Equal(e.Was, stored)
}

// Holds reports whether a stored namespace record (nil: none) meets e.
func (e NamespaceExpect) Holds(stored *Namespace) bool {
	if e.Was == nil || stored == nil {
		return e.Was == nil && stored == nil
	}
	return proto.Equal(e.Was, stored)
}

// Holds reports whether a stored registry (found false: none) meets e.
func (e SearchAttributesExpect) Holds(stored map[string]enumspb.IndexedValueType, found bool) bool {
	if e.Absent || !found {
		return e.Absent && !found
	}
	return maps.Equal(e.Was, stored)
}

// Conditional reports whether b carries expectations.
func (b *Batch) Conditional() bool {
	return len(b.ExpectNamespaces)+len(b.ExpectSearchAttributes)+len(b.ExpectRecords) > 0
}
