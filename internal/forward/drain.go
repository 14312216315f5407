package forward

import (
	"context"
	"strings"
)

// longPolls are the methods whose forwarded calls may wait for up to a
// minute at the owner: a node that is stopping cuts them short (Drain).
var longPolls = map[string]bool{
	"PollWorkflowTaskQueue":       true,
	"PollActivityTaskQueue":       true,
	"PollNexusTaskQueue":          true,
	"PollWorkflowExecutionUpdate": true,
	"GetWorkflowExecutionHistory": true, // with wait_new_event: a result wait
}

func isLongPoll(method string) bool {
	return longPolls[method[strings.LastIndexByte(method, '/')+1:]]
}

// Drain ends the node's forwarded long polls at once, and any started
// after: their callers get Unavailable ("dropped the forwarded call;
// retry") and poll again, reaching another node. A stopping node calls it
// with its engine's Close, which does the same for the polls it serves
// itself; without it a graceful stop waited for the polls this node had
// forwarded to others, up to a minute (the server's 10 s grace, then a
// hard stop).
func (f *Forwarder) Drain() { f.drain() }

// pollContext ties a forwarded long poll's outgoing context to Drain.
func (f *Forwarder) pollContext(octx context.Context, method string) (context.Context, func()) {
	if !isLongPoll(method) {
		return octx, func() {}
	}
	octx, cancel := context.WithCancel(octx)
	stop := context.AfterFunc(f.draining, cancel)
	return octx, func() { stop(); cancel() }
}
