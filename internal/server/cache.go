package server

// CacheStats reports the engine's workflow cache: estimated bytes held,
// workflows evicted for space and runs loaded from the store since start
// (tests use it to check that a small cache really evicts).
func (s *Server) CacheStats() (bytes, evictions, coldLoads int64) {
	return s.engine.CacheStats()
}

// SnapshotStats reports runs loaded from their snapshot since start and, in
// check mode (Config.CheckSnapshots), how many differed from their replayed
// history.
func (s *Server) SnapshotStats() (loads, mismatches int64) {
	return s.engine.SnapshotStats()
}
