package server

import (
	"log/slog"
	"time"

	"github.com/sundial-io/sundial/internal/engine"
	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/store/pebblestore"
)

// startupPhases times the steps of Start and logs them as one line once
// the server serves ("startup phases", info level), so the time from exec
// to the first answer after a crash can be attributed (docs/PERFORMANCE.md,
// the sleepers benchmark reads the line from the log).
type startupPhases struct {
	began, last time.Time
	attrs       []any
}

func newStartupPhases() *startupPhases {
	now := time.Now()
	return &startupPhases{began: now, last: now}
}

// mark ends the phase called name.
func (p *startupPhases) mark(name string) {
	now := time.Now()
	p.add(name, now.Sub(p.last))
	p.last = now
}

func (p *startupPhases) add(name string, d time.Duration) {
	p.attrs = append(p.attrs, slog.Duration(name, d.Round(10*time.Microsecond)))
}

// engine adds the engine's own steps (engine.New) under "engine.".
func (p *startupPhases) engine(e *engine.Engine) {
	for _, ph := range e.StartupPhases() {
		p.add("engine."+ph.Name, ph.Took)
	}
}

// store adds what opening the store cost, when it is Pebble.
func (p *startupPhases) store(st store.Store) {
	if ps, ok := st.(*pebblestore.Store); ok {
		oi := ps.OpenInfo()
		p.add("store.pebble_open", oi.Took)
		p.attrs = append(p.attrs, slog.Int64("store.replayed_bytes", oi.ReplayedBytes),
			slog.Int64("store.replayed_keys", oi.ReplayedKeys), slog.Int64("store.replay_tables", oi.ReplayTables))
	}
}

func (p *startupPhases) log(log *slog.Logger) {
	log.Info("startup phases", append([]any{slog.Duration("total", time.Since(p.began).Round(10*time.Microsecond))}, p.attrs...)...)
}
