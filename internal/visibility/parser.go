package visibility

import "strings"

// maxDepth bounds nesting of parentheses and NOT so a hostile query cannot
// exhaust the stack.
const maxDepth = 100

// parser is a recursive-descent parser over the token list:
//
//	query     = [or] ["GROUP" "BY" name] ["ORDER" "BY" order {"," order}] EOF
//	or        = and {"OR" and}
//	and       = not {"AND" not}
//	not       = "NOT" not | "(" or ")" | predicate
//	predicate = name ( cmpOp value | ["NOT"] "IN" "(" value {"," value} ")"
//	          | ["NOT"] "BETWEEN" value "AND" value | ["NOT"] "STARTS_WITH" value
//	          | "IS" ["NOT"] "NULL" )
type parser struct {
	toks  []token
	i     int
	depth int
	s     *Schema
	q     *Query
	// bad is set when the predicate being parsed cannot be applied and the
	// schema defers that error (see soft).
	bad bool
}

// soft handles an error that makes a well-formed condition inapplicable:
// under the schema's DeferErrors parsing goes on and the condition will
// fail evaluation, else the error is returned.
func (p *parser) soft(err error) error {
	if err == nil || !p.s.DeferErrors {
		return err
	}
	p.bad = true
	return nil
}

// inapplicable is soft for a whole condition.
func (p *parser) inapplicable(err error) (node, error) {
	if !p.s.DeferErrors {
		return nil, err
	}
	return failNode{}, nil
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// accept consumes the next token if it is the keyword kw.
func (p *parser) accept(kw string) bool {
	if p.peek().is(kw) {
		p.i++
		return true
	}
	return false
}

func (p *parser) expectKeyword(kw string) error {
	if !p.accept(kw) {
		return syntaxErr(p.peek(), kw)
	}
	return nil
}

func (p *parser) expectOp(op string) error {
	if !p.peek().isOp(op) {
		return syntaxErr(p.peek(), "'"+op+"'")
	}
	p.i++
	return nil
}

// clauseStart reports whether t begins a clause that ends the condition.
func clauseStart(t token) bool {
	return t.kind == tEOF || t.is("ORDER") || t.is("GROUP") || t.is("LIMIT")
}

func (p *parser) parseQuery() error {
	if !clauseStart(p.peek()) {
		n, err := p.parseOr()
		if err != nil {
			return err
		}
		p.q.where = n
	}
	// expected describes what may follow, for the error at the end.
	expected := "AND, OR, GROUP BY, ORDER BY or end of query"
	if p.accept("GROUP") {
		if err := p.parseGroupBy(); err != nil {
			return err
		}
		expected = "ORDER BY or end of query"
	}
	if p.accept("ORDER") {
		if err := p.parseOrderBy(); err != nil {
			return err
		}
		expected = "ASC, DESC, ',' or end of query"
	}
	if t := p.peek(); t.is("LIMIT") {
		return queryErr(t.pos, kindNotSupported, "'LIMIT' clause")
	}
	if t := p.peek(); t.kind != tEOF {
		return syntaxErr(t, expected)
	}
	return nil
}

func (p *parser) parseOr() (node, error) {
	l, err := p.parseAnd()
	for err == nil && p.accept("OR") {
		var r node
		if r, err = p.parseAnd(); err == nil {
			l = orNode{l, r}
		}
	}
	return l, err
}

func (p *parser) parseAnd() (node, error) {
	l, err := p.parseNot()
	for err == nil && p.accept("AND") {
		var r node
		if r, err = p.parseNot(); err == nil {
			l = andNode{l, r}
		}
	}
	return l, err
}

func (p *parser) parseNot() (node, error) {
	if p.depth++; p.depth > maxDepth {
		return nil, queryErr(p.peek().pos, kindNotSupported, "query is nested more than %d levels deep", maxDepth)
	}
	defer func() { p.depth-- }()
	if p.accept("NOT") {
		pos := p.toks[p.i-1].pos
		x, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		if p.s.NoNot {
			return p.inapplicable(queryErr(pos, kindNotSupported, "'NOT' expression"))
		}
		return notNode{x}, nil
	}
	if p.peek().isOp("(") {
		p.next()
		x, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		return x, p.expectOp(")")
	}
	return p.parsePredicate()
}

// parseName reads a search attribute name, bare or `quoted`, and resolves
// it. Keywords are not names, so `WHERE AND` fails here with a clear error.
// An unknown name deferred by the schema comes back with no type.
func (p *parser) parseName() (*attribute, error) {
	t := p.peek()
	if t.kind != tQuoted && (t.kind != tIdent || isKeyword(t.val)) {
		return nil, syntaxErr(t, "a search attribute name")
	}
	p.next()
	field, typ, ok := p.s.Resolve(t.val)
	if !ok {
		err := p.soft(queryErr(t.pos, kindInvalid, "column name '%s' is not a valid search attribute", t.val))
		return &attribute{name: t.val}, err
	}
	a := &attribute{name: t.val, field: field, typ: typ}
	if a.field == NamespaceDivision {
		p.q.seesDivision = true
	}
	return a, nil
}

var keywords = map[string]bool{
	"AND": true, "OR": true, "NOT": true, "IN": true, "BETWEEN": true, "IS": true, "NULL": true,
	"TRUE": true, "FALSE": true, "ORDER": true, "GROUP": true, "BY": true, "ASC": true,
	"DESC": true, "LIMIT": true, "STARTS_WITH": true, "LIKE": true,
}

func isKeyword(s string) bool { return keywords[strings.ToUpper(s)] }
