package matching

// The dispatch order of a queue's backlog follows Temporal's matching (its
// priority and fairness task readers):
//
//   - Priority first. A task's priority key (common.v1.Priority) picks one of
//     five levels; a lower key is a higher priority, an unset key (0) is the
//     middle level, 3, and keys past 5 count as 5. A poller always gets a task
//     of the highest level that has one.
//   - Fairness within a level, by stride scheduling (virtual time): each task
//     gets a "pass" when it joins the backlog. A fairness key's tasks are
//     spaced 1/weight apart (stride), and a key that was idle starts at the
//     level's virtual time (the pass of the last task dispatched in order), so
//     it gets no credit for the time it had nothing queued. Tasks go in pass
//     order, so backlogged keys are served in proportion to their weights (the
//     queue's weight overrides, else the weight the task carries, else 1).
//   - FIFO within a fairness key (and among tasks of equal pass).
//
// Tasks without a fairness key share the key "" and so keep plain FIFO order.
// Queries (never limited, answered rather than dispatched) go ahead of the
// tasks of their level. A pass is fixed when the task joins the backlog, so a
// changed weight applies to tasks added after the change, as in Temporal.

const (
	// priorityLevels is Temporal's default number of priority levels.
	priorityLevels = 5
	// DefaultPriorityKey is the level of a task without a priority key: the
	// middle one, as Temporal defaults it.
	DefaultPriorityKey = (priorityLevels + 1) / 2
	// strideFactor is the pass distance between two tasks of a key of weight
	// 1; a key of weight w is stridden strideFactor/w (minWeight keeps it >= 1).
	strideFactor = 1 << 20
	// minKeySweep is the number of fairness keys a level holds before it
	// drops the idle ones that no longer affect a pass.
	minKeySweep = 1024
)

// priorityLevel is the index of the level a task's priority key falls in.
func priorityLevel(key int32) int {
	if key <= 0 {
		key = DefaultPriorityKey
	}
	return int(min(key, priorityLevels)) - 1
}

// effectiveWeight is a fairness key's weight: the queue's override, else the
// task's, else 1 (a weight of zero or less means the default), at least
// minWeight.
func effectiveWeight(overrides map[string]float32, key string, carried float32) float32 {
	w, ok := overrides[key]
	if !ok {
		w = carried
	}
	if w <= 0 {
		return 1
	}
	return max(w, minWeight)
}

func stride(w float32) int64 {
	return max(1, int64(strideFactor/float64(w)))
}

// backlog holds a queue's waiting tasks in dispatch order. Tasks of equal
// pass go in the order of their ids (given in order as they join the
// backlog, queue.lastID).
type backlog struct {
	levels [priorityLevels]level
	n      int // tasks held, queries included
}

// level is one priority level of a backlog.
type level struct {
	queries []Task
	keys    map[string]*fairKey
	heap    []*fairKey // keys with tasks, ordered by their first task's (pass, id)
	vtime   int64      // virtual time: pass of the last task dispatched in order
	n       int
	sweepAt int
}

// fairKey is one fairness key's FIFO of tasks in a level.
type fairKey struct {
	name  string
	tasks []Task
	last  int64 // pass given to the key's latest task
	inc   int64 // stride of that task
	used  bool  // last is set
	idx   int   // position in the level's heap, -1 when not in it
}

func (b *backlog) len() int { return b.n }

// push adds a task at the back of its fairness key.
func (b *backlog) push(t Task, overrides map[string]float32) {
	lv := &b.levels[priorityLevel(t.PriorityKey)]
	b.n++
	lv.n++
	if t.QueryID != "" {
		lv.queries = append(lv.queries, t)
		return
	}
	fk := lv.key(t.FairnessKey)
	inc := stride(effectiveWeight(overrides, t.FairnessKey, t.FairnessWeight))
	t.pass = lv.vtime
	if fk.used {
		t.pass = max(lv.vtime, fk.last+inc)
	}
	t.hasPass = true
	fk.last, fk.inc, fk.used = t.pass, inc, true
	fk.tasks = append(fk.tasks, t)
	if fk.idx < 0 {
		lv.heapPush(fk)
	}
}

// pushFront puts back a task a poller could not take, ahead of the other
// tasks of its key (and, if it never waited here, of its level).
func (b *backlog) pushFront(t Task) {
	lv := &b.levels[priorityLevel(t.PriorityKey)]
	b.n++
	lv.n++
	if !t.hasPass {
		// Ahead of every other key's first task (none is below the
		// virtual time).
		t.pass, t.hasPass = lv.vtime-1, true
	}
	if t.QueryID != "" {
		lv.queries = append([]Task{t}, lv.queries...)
		return
	}
	fk := lv.key(t.FairnessKey)
	fk.tasks = append([]Task{t}, fk.tasks...)
	if fk.idx < 0 {
		lv.heapPush(fk)
	} else {
		lv.heapFix(fk.idx)
	}
}

// next removes and returns the first task in dispatch order.
func (b *backlog) next() (Task, bool) {
	for i := range b.levels {
		lv := &b.levels[i]
		if lv.n == 0 {
			continue
		}
		b.n--
		if len(lv.queries) > 0 {
			return lv.popQuery(), true
		}
		return lv.popKey(lv.heap[0]), true
	}
	return Task{}, false
}

// nextQuery removes and returns the first query (of the highest level that
// has one).
func (b *backlog) nextQuery() (Task, bool) {
	for i := range b.levels {
		if lv := &b.levels[i]; len(lv.queries) > 0 {
			b.n--
			return lv.popQuery(), true
		}
	}
	return Task{}, false
}

// nextWhere removes and returns the first task in dispatch order that ok
// lets go, looking at no more than maxScan fairness keys. ok sees the first
// task of each key (within a key tasks go in order) and every query.
func (b *backlog) nextWhere(ok func(*Task) bool) (Task, bool) {
	budget := maxScan
	var skipped []*fairKey
	for i := range b.levels {
		lv := &b.levels[i]
		if lv.n == 0 {
			continue
		}
		if len(lv.queries) > 0 && ok(&lv.queries[0]) {
			b.n--
			return lv.popQuery(), true
		}
		skipped = skipped[:0]
		var found *fairKey
		for len(lv.heap) > 0 && budget > 0 {
			budget--
			fk := lv.heap[0]
			if ok(&fk.tasks[0]) {
				found = fk
				break
			}
			lv.heapRemove(0)
			skipped = append(skipped, fk)
		}
		for _, fk := range skipped {
			lv.heapPush(fk)
		}
		if found != nil {
			b.n--
			return lv.popKey(found), true
		}
		if budget == 0 {
			break
		}
	}
	return Task{}, false
}

// heads calls fn with the first task of each fairness key that has tasks
// (in no particular order), until fn returns false or maxScan keys are seen.
func (b *backlog) heads(fn func(*Task) bool) {
	n := 0
	for i := range b.levels {
		for _, fk := range b.levels[i].heap {
			if n == maxScan || !fn(&fk.tasks[0]) {
				return
			}
			n++
		}
	}
}

// each calls fn with every task held, in no particular order.
func (b *backlog) each(fn func(*Task)) {
	for i := range b.levels {
		lv := &b.levels[i]
		for j := range lv.queries {
			fn(&lv.queries[j])
		}
		for _, fk := range lv.heap {
			for j := range fk.tasks {
				fn(&fk.tasks[j])
			}
		}
	}
}

// drain removes and returns every task, in dispatch order.
func (b *backlog) drain() []Task {
	if b.n == 0 {
		return nil
	}
	out := make([]Task, 0, b.n)
	for {
		t, ok := b.next()
		if !ok {
			return out
		}
		out = append(out, t)
	}
}

func (lv *level) popQuery() Task {
	t := lv.queries[0]
	lv.queries[0] = Task{}
	lv.queries = lv.queries[1:]
	lv.n--
	return t
}

// popKey removes the first task of fk, a key in the heap.
func (lv *level) popKey(fk *fairKey) Task {
	t := fk.tasks[0]
	fk.tasks[0] = Task{}
	fk.tasks = fk.tasks[1:]
	lv.n--
	if len(fk.tasks) == 0 {
		fk.tasks = nil
		lv.heapRemove(fk.idx)
	} else {
		lv.heapFix(fk.idx)
	}
	// The virtual time moves to the task dispatched, or only as far as the
	// first task still waiting when a rate limit let a later one go first
	// (Temporal's ack level stays below the first task not dispatched).
	vt := t.pass
	if len(lv.heap) > 0 {
		vt = min(vt, lv.heap[0].tasks[0].pass)
	}
	lv.vtime = max(lv.vtime, vt)
	return t
}

// key returns the state of a fairness key, made on first use. Past a
// threshold the idle keys (no task queued) are dropped, to bound memory
// when keys are many (say one per customer): first those whose next task
// would start at the virtual time anyway (dropping them changes no pass),
// then, if that freed too little, all of them; such a key's next task may
// then start up to one stride early, an approximation like that of
// Temporal's bounded pass counters.
func (lv *level) key(name string) *fairKey {
	if fk := lv.keys[name]; fk != nil {
		return fk
	}
	if lv.keys == nil {
		lv.keys = map[string]*fairKey{}
		lv.sweepAt = minKeySweep
	}
	if len(lv.keys) >= lv.sweepAt {
		before := len(lv.keys)
		for k, fk := range lv.keys {
			if len(fk.tasks) == 0 && fk.last+fk.inc <= lv.vtime {
				delete(lv.keys, k)
			}
		}
		if len(lv.keys) > before/2 {
			for k, fk := range lv.keys {
				if len(fk.tasks) == 0 {
					delete(lv.keys, k)
				}
			}
		}
		lv.sweepAt = max(minKeySweep, 2*len(lv.keys))
	}
	fk := &fairKey{name: name, idx: -1}
	lv.keys[name] = fk
	return fk
}

// The heap of keys with tasks, ordered by their first task.

func (lv *level) less(i, j int) bool {
	a, b := &lv.heap[i].tasks[0], &lv.heap[j].tasks[0]
	if a.pass != b.pass {
		return a.pass < b.pass
	}
	return a.id < b.id
}

func (lv *level) swap(i, j int) {
	h := lv.heap
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}

func (lv *level) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !lv.less(i, p) {
			return
		}
		lv.swap(i, p)
		i = p
	}
}

func (lv *level) down(i int) bool {
	start := i
	for n := len(lv.heap); ; {
		c := 2*i + 1
		if c >= n {
			break
		}
		if r := c + 1; r < n && lv.less(r, c) {
			c = r
		}
		if !lv.less(c, i) {
			break
		}
		lv.swap(i, c)
		i = c
	}
	return i > start
}

func (lv *level) heapPush(fk *fairKey) {
	fk.idx = len(lv.heap)
	lv.heap = append(lv.heap, fk)
	lv.up(fk.idx)
}

func (lv *level) heapFix(i int) {
	if !lv.down(i) {
		lv.up(i)
	}
}

func (lv *level) heapRemove(i int) {
	last := len(lv.heap) - 1
	fk := lv.heap[i]
	if i != last {
		lv.swap(i, last)
	}
	lv.heap[last] = nil
	lv.heap = lv.heap[:last]
	fk.idx = -1
	if i != last {
		lv.heapFix(i)
	}
}

// setWeights puts a task queue's fairness weight overrides in force on its
// sub-queues, for the tasks they get from now on (called with m.mu held).
func (m *Matcher) setWeights(base Key, w map[string]float32) {
	if len(w) == 0 {
		w = nil
		delete(m.weights, base)
	} else {
		m.weights[base] = w
	}
	for k, q := range m.queues {
		if k.base() == base {
			q.weights = w
		}
	}
}
