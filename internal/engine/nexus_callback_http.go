package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/temporalnexus"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/sundial-io/sundial/internal/execution"
)

// Completion callbacks with an http(s) URL are delivered as Temporal
// delivers them: a POST in the Nexus completion format (the operation
// state in Nexus-Operation-State; a success carries the result as the
// body with its content type, a failure the Nexus failure as JSON; the
// callback's own headers, the operation token, the start time and a link
// to the handler workflow as headers). Network errors, 5xx, 408 and 429
// are retried with the action loop's backoff; other answers end the
// delivery. A delivery still pending is durable and driven again after a
// restart (nexus_callback_durable.go).

// nexusCallbackTimeout bounds one HTTP delivery attempt.
const nexusCallbackTimeout = 10 * time.Second

var nexusCallbackClient = &http.Client{Timeout: nexusCallbackTimeout}

// retryHTTPCallback posts a completion until it is delivered or refused
// (true), or the engine stops (false).
func (e *Engine) retryHTTPCallback(run *execution.State, n *commonpb.Callback_Nexus, o execution.NexusOutcome) bool {
	for attempt := 0; ; attempt++ {
		err := e.postNexusCallback(context.Background(), run, n, o)
		if err == nil {
			return true
		}
		e.log.Warn("retrying a Nexus completion callback", "url", n.Url, "workflow", run.WorkflowID, "error", err)
		select {
		case <-e.stop:
			return false
		case <-time.After(backoff(attempt)):
		}
	}
}

func (e *Engine) postNexusCallback(ctx context.Context, run *execution.State, n *commonpb.Callback_Nexus, o execution.NexusOutcome) error {
	req, err := nexusCompletionRequest(ctx, run, n, o)
	if err != nil {
		e.log.Warn("Nexus completion callback not delivered: cannot build the request", "url", n.Url, "workflow", run.WorkflowID, "error", err)
		return nil
	}
	resp, err := nexusCallbackClient.Do(req)
	if err != nil {
		return serviceerror.NewUnavailable("Nexus completion callback to " + n.Url + ": " + err.Error())
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests:
		return serviceerror.NewUnavailable(fmt.Sprintf("Nexus completion callback to %s: HTTP %d", n.Url, resp.StatusCode))
	}
	e.log.Warn("Nexus completion callback refused", "url", n.Url, "status", resp.StatusCode, "workflow", run.WorkflowID, "run", run.RunID)
	return nil
}

// nexusFailureJSON is a Nexus failure as the completion body carries it:
// the Temporal failure itself travels in its details, as Temporal's
// failure converter puts it.
type nexusFailureJSON struct {
	Message  string            `json:"message"`
	Metadata map[string]string `json:"metadata,omitempty"`
	Details  json.RawMessage   `json:"details,omitempty"`
}

func nexusCompletionRequest(ctx context.Context, run *execution.State, n *commonpb.Callback_Nexus, o execution.NexusOutcome) (*http.Request, error) {
	var body []byte
	h := http.Header{}
	switch {
	case o.Failure != nil:
		details, err := protojson.Marshal(o.Failure)
		if err != nil {
			return nil, err
		}
		body, err = json.Marshal(nexusFailureJSON{Message: o.Failure.GetMessage(),
			Metadata: map[string]string{"type": "temporal.api.failure.v1.Failure"}, Details: details})
		if err != nil {
			return nil, err
		}
		h.Set("Content-Type", "application/json")
		state := "failed"
		if o.Canceled {
			state = "canceled"
		}
		h.Set("Nexus-Operation-State", state)
	default:
		var ctype string
		var err error
		body, ctype, err = payloadContent(o.Result)
		if err != nil {
			return nil, err
		}
		if ctype != "" {
			h.Set("Content-Type", ctype)
		}
		h.Set("Nexus-Operation-State", "succeeded")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.Url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range n.Header {
		req.Header.Set(k, v)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if req.Header.Get("Nexus-Operation-Token") == "" && o.OperationToken != "" {
		req.Header.Set("Nexus-Operation-Token", o.OperationToken)
	}
	req.Header.Set("Nexus-Operation-Start-Time", run.StartTime.UTC().Format(http.TimeFormat))
	req.Header.Set("User-Agent", "sundial")
	for _, l := range o.StartLinks {
		if nl, ok := temporalnexus.CommonLinkToNexusLink(l); ok {
			req.Header.Add("Nexus-Link", fmt.Sprintf("<%s>; type=%q", nl.Url, nl.Type))
		}
	}
	return req, nil
}

// payloadContent is a result payload as Nexus content, as Temporal's
// payload serializer writes it: plain JSON and bytes as themselves, no
// payload as no body, anything else as a whole Temporal payload.
func payloadContent(p *commonpb.Payload) ([]byte, string, error) {
	if p == nil {
		return nil, "", nil
	}
	if len(p.Metadata) == 1 {
		switch strings.TrimSpace(string(p.Metadata["encoding"])) {
		case "json/plain":
			return p.Data, "application/json", nil
		case "binary/plain":
			return p.Data, "application/octet-stream", nil
		case "binary/null":
			return nil, "", nil
		}
	}
	b, err := proto.Marshal(p)
	return b, "application/x-temporal-payload", err
}
