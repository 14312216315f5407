package matching

import "time"

// rateWindow measures tasks per second over the last rateInterval, in
// rateBucket slices, the way Temporal's matching reports a queue's add and
// dispatch rates: the count over the window (plus the current, partial
// bucket) divided by the time it covers, or by the time since the queue
// was created when that is shorter.
type rateWindow struct {
	start       time.Time // when the window was created
	bucketStart time.Time // start of the current bucket
	counts      [rateBuckets]int64
	cur         int
}

const (
	rateBucket   = 5 * time.Second
	rateInterval = 30 * time.Second
	rateBuckets  = int(rateInterval/rateBucket) + 1
)

func newRateWindow(now time.Time) *rateWindow {
	return &rateWindow{start: now, bucketStart: now}
}

// advance moves to the bucket holding now, clearing the ones passed.
func (r *rateWindow) advance(now time.Time) {
	n := int(now.Sub(r.bucketStart) / rateBucket)
	for i := 0; i < n && i < rateBuckets; i++ {
		r.cur = (r.cur + 1) % rateBuckets
		r.counts[r.cur] = 0
	}
	r.bucketStart = r.bucketStart.Add(time.Duration(n) * rateBucket)
}

func (r *rateWindow) add(now time.Time, n int64) {
	r.advance(now)
	r.counts[r.cur] += n
}

func (r *rateWindow) rate(now time.Time) float32 {
	r.advance(now)
	var total int64
	for _, c := range r.counts {
		total += c
	}
	span := min(now.Sub(r.bucketStart)+rateInterval, now.Sub(r.start))
	if span <= 0 {
		return 0
	}
	return float32(float64(total) / span.Seconds())
}
