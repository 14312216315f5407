package store

// KeyedRecord is a small opaque value stored under a kind and a key, for
// the configuration the engine keeps besides runs (task queue rate limits,
// ...). Each kind is its own key space; the store neither reads nor checks
// State, so a new kind of record needs no new table or store method.
type KeyedRecord struct {
	// Kind names the key space (a constant of the package that owns the
	// record, e.g. "taskqueue-config").
	Kind string
	// Key identifies the record within its kind; it may hold any bytes.
	Key   string
	State []byte
}

// RecordKey names one KeyedRecord.
type RecordKey struct {
	Kind string
	Key  string
}
