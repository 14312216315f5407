package engine

import "time"

// Now is the engine's clock, which every timer of the server follows
// (package schedule fires schedules by it too).
func (e *Engine) Now() time.Time { return e.now() }
