package main

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// maxErrors stops a phase early: once the server is clearly failing, waiting
// out -op-timeout for every remaining operation only wastes the run.
const maxErrors = 10

// opFunc performs operation i from client goroutine g (0 <= g < concurrency);
// goroutine g runs its operations one after another, which lets a scenario
// give each goroutine a workflow of its own.
type opFunc func(ctx context.Context, g, i int) error

// phase is the outcome of running n operations with bounded parallelism.
type phase struct {
	n        int
	lat      []time.Duration
	errs     int
	firstErr error
	wall     time.Duration
}

// runOps runs op for i in [0,n) on conc goroutines, timing each call.
func runOps(ctx context.Context, n, conc int, opTimeout time.Duration, op opFunc) phase {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if conc > n {
		conc = n
	}
	res := phase{n: n, lat: make([]time.Duration, 0, n)}
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for g := 0; g < conc; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				octx, ocancel := context.WithTimeout(ctx, opTimeout)
				t0 := time.Now()
				err := op(octx, g, i)
				d := time.Since(t0)
				ocancel()
				mu.Lock()
				if err != nil {
					res.errs++
					if res.firstErr == nil {
						res.firstErr = fmt.Errorf("op %d: %w", i, err)
					}
					if res.errs >= maxErrors {
						cancel()
					}
				} else {
					res.lat = append(res.lat, d)
				}
				mu.Unlock()
			}
		}(g)
	}
	wg.Wait()
	res.wall = time.Since(start)
	return res
}

// err summarizes why a phase did not complete every operation, or nil.
func (p phase) err() error {
	switch {
	case p.firstErr != nil:
		return fmt.Errorf("%d of %d failed, first: %w", p.errs, p.n, p.firstErr)
	case len(p.lat) < p.n:
		return fmt.Errorf("only %d of %d done before the scenario timeout", len(p.lat), p.n)
	}
	return nil
}

// rate is successful operations per second of wall time.
func (p phase) rate() float64 {
	if p.wall <= 0 {
		return 0
	}
	return float64(len(p.lat)) / p.wall.Seconds()
}

// Latency holds percentiles in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Mean float64 `json:"mean"`
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
}

// summarize computes nearest-rank percentiles.
func summarize(lat []time.Duration) Latency {
	if len(lat) == 0 {
		return Latency{}
	}
	s := append([]time.Duration(nil), lat...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	pct := func(p float64) float64 {
		k := int(p*float64(len(s))+0.999999) - 1
		if k < 0 {
			k = 0
		}
		if k >= len(s) {
			k = len(s) - 1
		}
		return ms(s[k])
	}
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return Latency{
		P50: pct(0.50), P95: pct(0.95), P99: pct(0.99),
		Mean: ms(sum / time.Duration(len(s))), Min: ms(s[0]), Max: ms(s[len(s)-1]),
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mib(b int64) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fMiB", float64(b)/(1<<20))
}
