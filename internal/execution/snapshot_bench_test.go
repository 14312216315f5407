package execution

import (
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
)

// BenchmarkSnapshot: encoding the state of a run with one activity
// running (the write path pays it on every write of an open run), next to
// the rest of its record.
func BenchmarkSnapshot(b *testing.B) {
	h := newHarness(&testing.T{}, startAttrs(func(a *historypb.WorkflowExecutionStartedEventAttributes) { a.Input = payloads("some input") }))
	h.pollComplete(scheduleActivity("a"), startTimer("t", time.Hour))
	s := h.s
	b.Run("snapshot", func(b *testing.B) {
		b.ReportAllocs()
		var n int
		for i := 0; i < b.N; i++ {
			n = len(s.Snapshot())
		}
		b.ReportMetric(float64(n), "bytes")
	})
	b.Run("record-without-snapshot", func(b *testing.B) {
		b.ReportAllocs()
		var n int
		for i := 0; i < b.N; i++ {
			r := s.Record()
			r.Snapshot = nil
			buf, _ := r.Marshal()
			n = len(buf)
		}
		b.ReportMetric(float64(n), "bytes")
	})
	b.Run("load-snapshot", func(b *testing.B) {
		rec := s.Record()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := LoadSnapshot(rec); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("load-replay", func(b *testing.B) {
		rec := s.Record()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			Load(rec, h.events)
		}
	})
}
