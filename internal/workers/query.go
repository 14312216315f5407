package workers

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.temporal.io/api/serviceerror"
	workerpb "go.temporal.io/api/worker/v1"
)

// The filter of ListWorkers and CountWorkers is Temporal's: a SQL WHERE
// condition over worker attributes. As in Temporal, a query that does not
// parse is InvalidArgument, while one that parses but cannot be applied
// to a worker (an unknown attribute, NOT, IN, a function, a number where
// a string is expected, an empty string) matches no worker.

// stringFields are the string attributes, by their case-sensitive names.
var stringFields = map[string]func(*workerpb.WorkerHeartbeat) string{
	"WorkerInstanceKey": func(h *workerpb.WorkerHeartbeat) string { return h.GetWorkerInstanceKey() },
	"WorkerIdentity":    func(h *workerpb.WorkerHeartbeat) string { return h.GetWorkerIdentity() },
	"HostName":          func(h *workerpb.WorkerHeartbeat) string { return h.GetHostInfo().GetHostName() },
	"TaskQueue":         func(h *workerpb.WorkerHeartbeat) string { return h.GetTaskQueue() },
	"DeploymentName":    func(h *workerpb.WorkerHeartbeat) string { return h.GetDeploymentVersion().GetDeploymentName() },
	"BuildId":           func(h *workerpb.WorkerHeartbeat) string { return h.GetDeploymentVersion().GetBuildId() },
	"SdkName":           func(h *workerpb.WorkerHeartbeat) string { return h.GetSdkName() },
	"SdkVersion":        func(h *workerpb.WorkerHeartbeat) string { return h.GetSdkVersion() },
	"WorkerStatus":      func(h *workerpb.WorkerHeartbeat) string { return h.GetStatus().String() },
	"status":            func(h *workerpb.WorkerHeartbeat) string { return h.GetStatus().String() },
}

// timeFields are the timestamp attributes; the zero time when unset.
var timeFields = map[string]func(*workerpb.WorkerHeartbeat) time.Time{
	"StartTime": func(h *workerpb.WorkerHeartbeat) time.Time {
		if h.GetStartTime() == nil {
			return time.Time{}
		}
		return h.GetStartTime().AsTime()
	},
	"HeartbeatTime": func(h *workerpb.WorkerHeartbeat) time.Time {
		if h.GetHeartbeatTime() == nil {
			return time.Time{}
		}
		return h.GetHeartbeatTime().AsTime()
	},
}

// node is a parsed condition; eval fails when the condition cannot be
// applied to a worker.
type node interface {
	eval(h *workerpb.WorkerHeartbeat) (bool, error)
}

type andNode struct{ l, r node }
type orNode struct{ l, r node }

// unsupported parses but never applies (NOT, IN, LIKE, functions, a bare
// name or value).
type unsupported struct{ what string }

// cmpNode is `name op value`; value is the literal as written.
type cmpNode struct {
	name, op string
	value    token
}

type isNullNode struct {
	name string
	not  bool
}

type betweenNode struct {
	name     string
	not      bool
	from, to token
}

func (n andNode) eval(h *workerpb.WorkerHeartbeat) (bool, error) {
	if ok, err := n.l.eval(h); err != nil || !ok {
		return ok, err
	}
	return n.r.eval(h)
}

func (n orNode) eval(h *workerpb.WorkerHeartbeat) (bool, error) {
	if ok, err := n.l.eval(h); err != nil || ok {
		return ok, err
	}
	return n.r.eval(h)
}

func (n unsupported) eval(*workerpb.WorkerHeartbeat) (bool, error) {
	return false, fmt.Errorf("operation is not supported: %s", n.what)
}

func (n cmpNode) eval(h *workerpb.WorkerHeartbeat) (bool, error) {
	if f, ok := stringFields[n.name]; ok {
		if n.value.kind != tString || n.value.text == "" {
			return false, fmt.Errorf("invalid value for %s", n.name)
		}
		got, want := f(h), n.value.text
		switch n.op {
		case "=":
			return got == want, nil
		case "!=":
			return got != want, nil
		case "STARTS_WITH":
			return strings.HasPrefix(got, want), nil
		case "NOT STARTS_WITH":
			return !strings.HasPrefix(got, want), nil
		}
		return false, fmt.Errorf("operation %s is not supported for %s column", n.op, n.name)
	}
	if f, ok := timeFields[n.name]; ok {
		want, err := timeValue(n.value)
		if err != nil {
			return false, err
		}
		got := f(h)
		switch n.op {
		case "=":
			return got.Equal(want), nil
		case "!=":
			return !got.Equal(want), nil
		case ">":
			return got.After(want), nil
		case ">=":
			return !got.Before(want), nil
		case "<":
			return got.Before(want), nil
		case "<=":
			return !got.After(want), nil
		}
		return false, fmt.Errorf("operation %s is not supported", n.op)
	}
	return false, fmt.Errorf("unknown or unsupported worker heartbeat search field: %s", n.name)
}

func (n isNullNode) eval(h *workerpb.WorkerHeartbeat) (bool, error) {
	var empty bool
	if f, ok := stringFields[n.name]; ok {
		empty = f(h) == ""
	} else if f, ok := timeFields[n.name]; ok {
		empty = f(h).IsZero()
	} else {
		return false, fmt.Errorf("unknown or unsupported worker heartbeat search field: %s", n.name)
	}
	return empty != n.not, nil
}

func (n betweenNode) eval(h *workerpb.WorkerHeartbeat) (bool, error) {
	f, ok := timeFields[n.name]
	if !ok {
		return false, fmt.Errorf("unknown or unsupported column name: %s", n.name)
	}
	from, err := timeValue(n.from)
	if err != nil {
		return false, err
	}
	to, err := timeValue(n.to)
	if err != nil {
		return false, err
	}
	t := f(h)
	if t.IsZero() {
		return false, nil
	}
	in := !t.Before(from) && !t.After(to)
	return in != n.not, nil
}

// timeValue reads a time literal: an integer is Unix nanoseconds, a
// string is RFC 3339.
func timeValue(t token) (time.Time, error) {
	switch t.kind {
	case tNumber:
		ns, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			return time.Time{}, err
		}
		if ns == 0 {
			return time.Time{}, nil
		}
		return time.Unix(0, ns).UTC(), nil
	case tString:
		return time.Parse(time.RFC3339, t.text)
	}
	return time.Time{}, fmt.Errorf("invalid time value %q", t.text)
}

// Filter is a parsed ListWorkers/CountWorkers query.
type Filter struct{ root node }

// Match reports whether a worker satisfies the filter; a condition that
// cannot be applied to it does not match.
func (f *Filter) Match(h *workerpb.WorkerHeartbeat) bool {
	if f == nil || f.root == nil {
		return true
	}
	ok, err := f.root.eval(h)
	return err == nil && ok
}

// ParseFilter parses a query; "" matches every worker.
func ParseFilter(query string) (*Filter, error) {
	query = strings.TrimSpace(query)
	if query == "" {
		return &Filter{}, nil
	}
	lower := strings.ToLower(query)
	if strings.HasPrefix(lower, "where ") || strings.HasPrefix(lower, "select ") {
		return nil, serviceerror.NewInvalidArgument(fmt.Sprintf("invalid filter: %s", query))
	}
	toks, err := lex(query)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	root, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.peek().isKeyword("ORDER") { // accepted and ignored, as in Temporal
		if err := p.orderBy(); err != nil {
			return nil, err
		}
	}
	if p.peek().isKeyword("LIMIT") {
		return nil, serviceerror.NewInvalidArgument("operation is not supported: 'limit' clause")
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, malformed(t)
	}
	return &Filter{root: root}, nil
}

func malformed(t token) error {
	near := t.text
	if t.kind == tEOF {
		near = ""
	}
	return serviceerror.NewInvalidArgument(fmt.Sprintf("malformed query: syntax error at position %d near '%s'", t.pos+1, near))
}

type tokenKind int

const (
	tEOF tokenKind = iota
	tIdent
	tString
	tNumber
	tOp
)

type token struct {
	kind tokenKind
	text string
	pos  int // byte offset in the query
}

func (t token) isKeyword(kw string) bool { return t.kind == tIdent && strings.EqualFold(t.text, kw) }
func (t token) isOp(op string) bool      { return t.kind == tOp && t.text == op }

// keywords may not be used as bare attribute names.
var keywords = map[string]bool{"AND": true, "OR": true, "NOT": true, "IS": true, "NULL": true, "BETWEEN": true,
	"IN": true, "LIKE": true, "STARTS_WITH": true, "ORDER": true, "BY": true, "LIMIT": true, "ASC": true, "DESC": true}

func lex(q string) ([]token, error) {
	var out []token
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'' || c == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(q); j++ {
				if q[j] == '\\' && j+1 < len(q) {
					j++
					b.WriteByte(q[j])
					continue
				}
				if q[j] == c {
					if j+1 < len(q) && q[j+1] == c { // doubled quote
						b.WriteByte(c)
						j++
						continue
					}
					break
				}
				b.WriteByte(q[j])
			}
			if j >= len(q) {
				return nil, malformed(token{kind: tEOF, pos: len(q)})
			}
			out = append(out, token{kind: tString, text: b.String(), pos: i})
			i = j + 1
		case c == '`':
			j := strings.IndexByte(q[i+1:], '`')
			if j < 0 {
				return nil, malformed(token{kind: tEOF, pos: len(q)})
			}
			// A quoted name is a name even when it spells a keyword.
			out = append(out, token{kind: tIdent, text: "`" + q[i+1:i+1+j], pos: i})
			i += j + 2
		case c >= '0' && c <= '9' || c == '-' && i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9':
			j := i + 1
			for j < len(q) && (q[j] >= '0' && q[j] <= '9' || q[j] == '.') {
				j++
			}
			out = append(out, token{kind: tNumber, text: q[i:j], pos: i})
			i = j
		case c == '_' || unicode.IsLetter(rune(c)):
			j := i + 1
			for j < len(q) && (q[j] == '_' || q[j] == '.' || unicode.IsLetter(rune(q[j])) || q[j] >= '0' && q[j] <= '9') {
				j++
			}
			out = append(out, token{kind: tIdent, text: q[i:j], pos: i})
			i = j
		default:
			op := string(c)
			if i+1 < len(q) {
				if two := q[i : i+2]; two == "!=" || two == "<>" || two == "<=" || two == ">=" {
					op = two
				}
			}
			switch op {
			case "=", "!=", "<>", "<", "<=", ">", ">=", "(", ")", ",":
			default:
				return nil, malformed(token{kind: tOp, text: op, pos: i})
			}
			i += len(op)
			if op == "<>" {
				op = "!="
			}
			out = append(out, token{kind: tOp, text: op, pos: i - len(op)})
		}
	}
	return append(out, token{kind: tEOF, pos: len(q)}), nil
}

type parser struct {
	toks  []token
	i     int
	depth int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) or() (node, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.peek().isKeyword("OR") {
		p.next()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = orNode{l, r}
	}
	return l, nil
}

func (p *parser) and() (node, error) {
	l, err := p.not()
	if err != nil {
		return nil, err
	}
	for p.peek().isKeyword("AND") {
		p.next()
		r, err := p.not()
		if err != nil {
			return nil, err
		}
		l = andNode{l, r}
	}
	return l, nil
}

func (p *parser) not() (node, error) {
	if p.depth++; p.depth > 100 {
		return nil, malformed(p.peek())
	}
	defer func() { p.depth-- }()
	if p.peek().isKeyword("NOT") {
		p.next()
		if _, err := p.not(); err != nil {
			return nil, err
		}
		return unsupported{"'not' expression"}, nil
	}
	if p.peek().isOp("(") {
		p.next()
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.peek().isOp(")") {
			return nil, malformed(p.peek())
		}
		p.next()
		return n, nil
	}
	return p.predicate()
}

// operand reads a name, a literal or a function call. name is set for a
// plain attribute name.
func (p *parser) operand() (t token, name string, fn bool, err error) {
	t = p.next()
	switch t.kind {
	case tString, tNumber:
		return t, "", false, nil
	case tIdent:
		if strings.HasPrefix(t.text, "`") {
			return t, t.text[1:], false, nil
		}
		if keywords[strings.ToUpper(t.text)] {
			if t.isKeyword("NULL") {
				return t, "", false, nil
			}
			return t, "", false, malformed(t)
		}
		if p.peek().isOp("(") { // a function call
			p.next()
			for !p.peek().isOp(")") {
				if _, _, _, err := p.operand(); err != nil {
					return t, "", false, err
				}
				if !p.peek().isOp(",") {
					break
				}
				p.next()
			}
			if !p.peek().isOp(")") {
				return t, "", false, malformed(p.peek())
			}
			p.next()
			return t, "", true, nil
		}
		return t, t.text, false, nil
	}
	return t, "", false, malformed(t)
}

func (p *parser) predicate() (node, error) {
	_, name, fn, err := p.operand()
	if err != nil {
		return nil, err
	}
	// what a condition whose left side is no attribute name becomes.
	apply := func(n node) node {
		if fn {
			return unsupported{"function expression"}
		}
		if name == "" {
			return unsupported{"the left side is not a name"}
		}
		return n
	}
	t := p.peek()
	switch {
	case t.kind == tOp && t.text != "(" && t.text != ")" && t.text != ",":
		p.next()
		v, _, vfn, err := p.operand()
		if err != nil {
			return nil, err
		}
		if vfn || (v.kind != tString && v.kind != tNumber) {
			return apply(unsupported{"the value is not a literal"}), nil
		}
		return apply(cmpNode{name: name, op: t.text, value: v}), nil
	case t.isKeyword("IS"):
		p.next()
		not := false
		if p.peek().isKeyword("NOT") {
			p.next()
			not = true
		}
		if !p.peek().isKeyword("NULL") {
			return nil, malformed(p.peek())
		}
		p.next()
		return apply(isNullNode{name: name, not: not}), nil
	}
	not := false
	if t.isKeyword("NOT") {
		p.next()
		not = true
		t = p.peek()
	}
	switch {
	case t.isKeyword("STARTS_WITH"):
		p.next()
		v, _, _, err := p.operand()
		if err != nil {
			return nil, err
		}
		op := "STARTS_WITH"
		if not {
			op = "NOT STARTS_WITH"
		}
		return apply(cmpNode{name: name, op: op, value: v}), nil
	case t.isKeyword("BETWEEN"):
		p.next()
		from, _, _, err := p.operand()
		if err != nil {
			return nil, err
		}
		if !p.peek().isKeyword("AND") {
			return nil, malformed(p.peek())
		}
		p.next()
		to, _, _, err := p.operand()
		if err != nil {
			return nil, err
		}
		return apply(betweenNode{name: name, not: not, from: from, to: to}), nil
	case t.isKeyword("LIKE"):
		p.next()
		if _, _, _, err := p.operand(); err != nil {
			return nil, err
		}
		return unsupported{"'like' operator"}, nil
	case t.isKeyword("IN"):
		p.next()
		if !p.peek().isOp("(") {
			return nil, malformed(p.peek())
		}
		p.next()
		for {
			if _, _, _, err := p.operand(); err != nil {
				return nil, err
			}
			if !p.peek().isOp(",") {
				break
			}
			p.next()
		}
		if !p.peek().isOp(")") {
			return nil, malformed(p.peek())
		}
		p.next()
		return unsupported{"'in' operator"}, nil
	}
	if not {
		return nil, malformed(t)
	}
	return unsupported{"incomplete expression"}, nil // a bare name or value
}

func (p *parser) orderBy() error {
	p.next()
	if !p.peek().isKeyword("BY") {
		return malformed(p.peek())
	}
	p.next()
	for {
		if t := p.next(); t.kind != tIdent || keywords[strings.ToUpper(t.text)] {
			return malformed(t)
		}
		if p.peek().isKeyword("ASC") || p.peek().isKeyword("DESC") {
			p.next()
		}
		if !p.peek().isOp(",") {
			return nil
		}
		p.next()
	}
}
