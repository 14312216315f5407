package gosdk

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// TestCompatTable keeps the RPC table of docs/COMPATIBILITY.md true: every
// RPC of the WorkflowService and OperatorService descriptors has exactly
// one row, and each row's status is what a real server answers to an
// empty request (see the table's introduction for the rules).

const compatDoc = "../../docs/COMPATIBILITY.md"

type compatRow struct {
	service, rpc, status string
	code                 codes.Code // for "not offered (Code)"
	line                 int
}

var compatRowRE = regexp.MustCompile("^\\| (WorkflowService|OperatorService) \\| `([A-Za-z]+)` \\| ([^|]+?) \\|")

// compatStatuses are the statuses a row may have, "not offered" aside
// (it carries a code).
var compatStatuses = map[string]bool{"done": true, "partial": true, "not yet": true}

func readCompatTable(t *testing.T) map[string]compatRow {
	t.Helper()
	f, err := os.Open(compatDoc)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	codeByName := map[string]codes.Code{}
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		codeByName[c.String()] = c
	}
	rows := map[string]compatRow{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		m := compatRowRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		r := compatRow{service: m[1], rpc: m[2], status: m[3], line: n}
		if rest, ok := strings.CutPrefix(r.status, "not offered ("); ok && strings.HasSuffix(rest, ")") {
			c, ok := codeByName[strings.TrimSuffix(rest, ")")]
			if !ok || c == codes.OK {
				t.Errorf("%s:%d: %s: unknown gRPC code in %q", compatDoc, n, r.rpc, r.status)
			}
			r.status, r.code = "not offered", c
		} else if !compatStatuses[r.status] {
			t.Errorf("%s:%d: %s: status %q is none of done, partial, not yet, not offered (Code)", compatDoc, n, r.rpc, r.status)
		}
		key := r.service + "/" + r.rpc
		if old, dup := rows[key]; dup {
			t.Errorf("%s:%d: %s has a second row (first on line %d)", compatDoc, n, key, old.line)
		}
		rows[key] = r
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// compatMethods lists the unary RPCs of the services, as "Service/RPC"
// with the full gRPC service name.
func compatMethods(t *testing.T) map[string]protoreflect.MethodDescriptor {
	t.Helper()
	out := map[string]protoreflect.MethodDescriptor{}
	for _, full := range []string{workflowservice.WorkflowService_ServiceDesc.ServiceName, operatorservice.OperatorService_ServiceDesc.ServiceName} {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(full))
		if err != nil {
			t.Fatal(err)
		}
		sd := d.(protoreflect.ServiceDescriptor)
		for i := 0; i < sd.Methods().Len(); i++ {
			m := sd.Methods().Get(i)
			if m.IsStreamingClient() || m.IsStreamingServer() {
				t.Errorf("%s/%s is streaming: the table test only knows unary RPCs", sd.Name(), m.Name())
				continue
			}
			out[string(sd.Name())+"/"+string(m.Name())] = m
		}
	}
	return out
}

func TestCompatTable(t *testing.T) {
	rows := readCompatTable(t)
	methods := compatMethods(t)
	for key := range methods {
		if _, ok := rows[key]; !ok {
			t.Errorf("%s has no row in the RPC table of %s", key, compatDoc)
		}
	}
	for key, r := range rows {
		if _, ok := methods[key]; !ok {
			t.Errorf("%s:%d: %s is not an RPC of go.temporal.io/api", compatDoc, r.line, key)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	e := newEnv(t)
	conn, err := grpc.NewClient(e.srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	// Every RPC with an empty request, a few at a time: long polls may
	// run to the deadline.
	type answer struct {
		st  *status.Status
		key string
	}
	var (
		mu      sync.Mutex
		answers []answer
		wg      sync.WaitGroup
		sem     = make(chan struct{}, 16)
	)
	for key, m := range methods {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			st := compatCall(conn, m)
			mu.Lock()
			answers = append(answers, answer{st, key})
			mu.Unlock()
		}()
	}
	wg.Wait()

	for _, a := range answers {
		r := rows[a.key]
		got, msg := a.st.Code(), a.st.Message()
		bare := msg == "method "+r.rpc+" not implemented"
		switch r.status {
		case "done", "partial":
			if got == codes.Unimplemented || got == codes.Internal {
				t.Errorf("%s is %s in the table but answers %v: %s", a.key, r.status, got, msg)
			}
		case "not yet":
			if got != codes.Unimplemented || bare || !strings.Contains(msg, "Sundial") {
				t.Errorf("%s is not yet in the table: want Unimplemented with a message naming Sundial, got %v: %q", a.key, got, msg)
			}
		case "not offered":
			if got != r.code || !strings.Contains(msg, "Sundial") {
				t.Errorf("%s is not offered (%v) in the table: got %v: %q", a.key, r.code, got, msg)
			}
		}
	}
	if len(answers) != len(methods) {
		t.Fatalf("%d answers for %d RPCs", len(answers), len(methods))
	}
}

// compatCall invokes m with an empty request and returns the status.
func compatCall(conn *grpc.ClientConn, m protoreflect.MethodDescriptor) *status.Status {
	in, err := protoregistry.GlobalTypes.FindMessageByName(m.Input().FullName())
	if err != nil {
		return status.New(codes.Unknown, err.Error())
	}
	out, err := protoregistry.GlobalTypes.FindMessageByName(m.Output().FullName())
	if err != nil {
		return status.New(codes.Unknown, err.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	method := fmt.Sprintf("/%s/%s", m.Parent().FullName(), m.Name())
	var req, resp proto.Message = in.New().Interface(), out.New().Interface()
	return status.Convert(conn.Invoke(ctx, method, req, resp))
}
