package frontend

import (
	"fmt"
	"net/url"

	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sundial-io/sundial/internal/engine"
)

// Limits on the completion callbacks and links of a start request
// (Temporal's defaults: 32
// callbacks, frontend.maxLinksPerRequest 10, frontend.linkMaxSize 4000
// bytes).
const (
	maxCallbacksPerStart = 32
	maxLinksPerRequest   = 10
	maxLinkSize          = 4000
)

// checkCallbacks validates StartWorkflowExecution's completion_callbacks
// and links. Callbacks must be Nexus callbacks with the in-process URL
// temporal://system (what Sundial's own Nexus callers send) or an http(s)
// URL (delivered by HTTP POST: engine/nexus_callback_http.go).
func checkCallbacks(cbs []*commonpb.Callback, links []*commonpb.Link) error {
	if len(cbs) > maxCallbacksPerStart {
		return invalid("CompletionCallbacks: cannot attach more than %d callbacks to a workflow (got %d).", maxCallbacksPerStart, len(cbs))
	}
	for i, cb := range cbs {
		n := cb.GetNexus()
		if n == nil {
			return invalid("CompletionCallbacks[%d]: unsupported callback variant %T: only Nexus callbacks are accepted.", i, cb.GetVariant())
		}
		if n.Url == engine.NexusSystemCallbackURL {
			continue
		}
		u, err := url.Parse(n.Url)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return invalid("CompletionCallbacks[%d].Nexus.Url: invalid callback URL %q: want %s or an http(s) URL.", i, n.Url, engine.NexusSystemCallbackURL)
		}
		if err := checkLinks(fmt.Sprintf("CompletionCallbacks[%d].Links", i), cb.Links); err != nil {
			return err
		}
	}
	return checkLinks("Links", links)
}

func checkLinks(field string, links []*commonpb.Link) error {
	if len(links) > maxLinksPerRequest {
		return invalid("%s: cannot attach more than %d links (got %d).", field, maxLinksPerRequest, len(links))
	}
	for i, l := range links {
		if n := proto.Size(l); n > maxLinkSize {
			return invalid("%s[%d]: link exceeds the size limit (%d > %d bytes).", field, i, n, maxLinkSize)
		}
		if l.GetVariant() == nil {
			return invalid("%s[%d]: link has no variant.", field, i)
		}
	}
	return nil
}
