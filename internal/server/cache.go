package server

// CacheStats reports the engine's workflow cache: estimated bytes held,
// workflows evicted for space and runs loaded from the store since start
// (tests use it to check that a small cache really evicts).
func (s *Server) CacheStats() (bytes, evictions, coldLoads int64) {
	return s.engine.CacheStats()
}
