package tasktoken

import (
	"testing"
)

func TestRoundTrip(t *testing.T) {
	in := Token{Kind: Activity, Namespace: "default", WorkflowID: "wf", RunID: "r1", ScheduledEventID: 5, StartedEventID: 0, Attempt: 3, QueryID: ""}
	out, err := Decode(in.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if *out != in {
		t.Fatalf("got %+v want %+v", *out, in)
	}
}

func TestMalformed(t *testing.T) {
	good := (&Token{Kind: Workflow, Namespace: "n", WorkflowID: "w", RunID: "r"}).Encode()
	for name, b := range map[string][]byte{
		"empty":     nil,
		"version":   {9, 1},
		"kind":      {1, 7},
		"truncated": good[:len(good)-2],
		"trailing":  append(append([]byte{}, good...), 0),
		"no run":    (&Token{Kind: Workflow, Namespace: "n", WorkflowID: "w"}).Encode(),
	} {
		if _, err := Decode(b); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add((&Token{Kind: Workflow, Namespace: "n", WorkflowID: "w", RunID: "r", ScheduledEventID: 3, StartedEventID: 4, Attempt: 1}).Encode())
	f.Add([]byte{1, 2, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := Decode(b)
		if err != nil {
			return
		}
		again, err := Decode(tok.Encode())
		if err != nil || *again != *tok {
			t.Fatalf("re-encode mismatch: %+v %+v %v", tok, again, err)
		}
	})
}

// A standalone activity token round-trips, and tokens of the older kinds
// keep their encoding (the kind byte is all that is new).
func TestStandaloneActivityKind(t *testing.T) {
	in := Token{Kind: StandaloneActivity, Namespace: "default", WorkflowID: "activity-id", RunID: "run", ScheduledEventID: 2, Attempt: 2}
	out, err := Decode(in.Encode())
	if err != nil || *out != in {
		t.Fatalf("got %+v, %v; want %+v", out, err, in)
	}
	old := (&Token{Kind: Activity, Namespace: "n", WorkflowID: "w", RunID: "r", ScheduledEventID: 5, Attempt: 1}).Encode()
	if old[1] != byte(Activity) {
		t.Fatalf("activity token kind byte = %d", old[1])
	}
}
