package visibility

import (
	"slices"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
)

// parsePredicate parses one comparison of an attribute with constants and
// checks operator and values against the attribute's type, so that every
// type error surfaces at Parse and evaluation cannot fail.
func (p *parser) parsePredicate() (node, error) {
	a, err := p.parseName()
	if err != nil {
		return nil, err
	}
	t := p.next()
	var op string
	switch {
	case t.is("IS"):
		not := p.accept("NOT")
		if !p.accept("NULL") {
			return nil, queryErr(t.pos, kindInvalid, "'IS' operator can only be used as 'IS NULL' or 'IS NOT NULL'")
		}
		return isNullNode{a: a, not: not}, nil
	case t.kind == tOp && slices.Contains([]string{"=", "!=", "<", "<=", ">", ">=", "<=>"}, t.val):
		op = t.val
	case t.is("NOT"):
		nt := p.next()
		if !nt.is("IN") && !nt.is("BETWEEN") && !nt.is("STARTS_WITH") && !nt.is("LIKE") {
			return nil, syntaxErr(nt, "IN, BETWEEN or STARTS_WITH after NOT")
		}
		op = "not " + strings.ToLower(nt.val)
	case t.is("IN") || t.is("BETWEEN") || t.is("STARTS_WITH") || t.is("LIKE"):
		op = strings.ToLower(t.val)
	case clauseStart(t) || t.is("AND") || t.is("OR") || t.isOp(")"):
		return nil, queryErr(t.pos, kindInvalid,
			"incomplete expression: search attribute '%s' must be followed by an operator", a.name)
	default:
		return nil, syntaxErr(t, "a comparison operator")
	}
	if err := checkOperator(a, op, t.pos); err != nil {
		return nil, err
	}
	lits, err := p.parseOperands(op)
	if err != nil {
		return nil, err
	}
	n := cmpNode{a: a, op: op}
	for _, l := range lits {
		v, err := convert(a, l)
		if err != nil {
			return nil, err
		}
		if s, ok := v.(string); ok && a.typ == text && !hasTextTokens(s) {
			return nil, queryErr(l.pos, kindInvalid, "unexpected value for Text type search attribute (no tokens found)")
		}
		n.vals = append(n.vals, v)
	}
	return n, nil
}

// parseOperands reads what follows the operator: a parenthesised list for
// IN, two values joined by AND for BETWEEN, else one value.
func (p *parser) parseOperands(op string) ([]literal, error) {
	switch op {
	case opIn, opNotIn:
		if err := p.expectOp("("); err != nil {
			return nil, err
		}
		var lits []literal
		for {
			l, err := p.parseLiteral()
			if err != nil {
				return nil, err
			}
			lits = append(lits, l)
			if !p.peek().isOp(",") {
				break
			}
			p.next()
		}
		return lits, p.expectOp(")")
	case opBetween, opNotBetween:
		from, err := p.parseLiteral()
		if err != nil {
			return nil, err
		}
		if err := p.expectKeyword("AND"); err != nil {
			return nil, err
		}
		to, err := p.parseLiteral()
		return []literal{from, to}, err
	}
	l, err := p.parseLiteral()
	return []literal{l}, err
}

func (p *parser) parseLiteral() (literal, error) {
	t := p.next()
	switch {
	case t.kind == tString:
		return literal{v: t.val, pos: t.pos}, nil
	case t.kind == tNumber:
		return parseNumber(t.val, t.pos)
	case t.isOp("-") || t.isOp("+"):
		n := p.next()
		if n.kind != tNumber {
			return literal{}, syntaxErr(n, "a number")
		}
		return parseNumber(t.val+n.val, t.pos)
	case t.is("TRUE") || t.is("FALSE"):
		return literal{v: t.is("TRUE"), pos: t.pos}, nil
	case t.is("NULL"):
		return literal{}, queryErr(t.pos, kindInvalid, "comparison with NULL never matches, use IS NULL or IS NOT NULL")
	case t.kind == tQuoted || t.kind == tIdent && !isKeyword(t.val):
		return literal{}, queryErr(t.pos, kindNotSupported,
			"column name on the right side of comparison expression (did you forget to quote %q?)", t.val)
	}
	return literal{}, syntaxErr(t, "a value")
}

// rangeTypes are the types Temporal allows in BETWEEN.
var rangeTypes = []enumspb.IndexedValueType{dt, dbl, intT, kw}

// checkOperator enforces Temporal's per-type operator lists.
func checkOperator(a *attribute, op string, pos int) error {
	if op == opBetween || op == opNotBetween {
		if !slices.Contains(rangeTypes, a.typ) {
			return queryErr(pos, kindInvalid,
				"cannot do range condition on search attribute '%s' of type %s", a.name, a.typ)
		}
		return nil
	}
	allowed := []string{opEq, opNe, opLt, opLe, opGt, opGe, opIn, opNotIn}
	switch a.typ {
	case kw:
		// ExecutionStatus is matched by enum number, which has no prefix.
		if a.field != ExecutionStatus {
			allowed = append(allowed, opStartsWith, opNotStartsWith)
		}
	case kwList:
		allowed = []string{opEq, opNe, opIn, opNotIn}
	case text:
		allowed = []string{opEq, opNe}
	}
	if !slices.Contains(allowed, op) {
		return queryErr(pos, kindNotSupported,
			"operator '%s' not supported for %s type search attribute '%s'", strings.ToUpper(op), a.typ, a.name)
	}
	return nil
}

func (p *parser) parseGroupBy() error {
	if err := p.expectKeyword("BY"); err != nil {
		return err
	}
	a, err := p.parseName()
	if err != nil {
		return err
	}
	if t := p.peek(); t.isOp(",") {
		return queryErr(t.pos, kindNotSupported, "'GROUP BY' clause supports only a single field")
	}
	if a.field != ExecutionStatus && a.field != NamespaceDivision &&
		!strings.HasPrefix(a.field, "TemporalLowCardinalityKeyword") {
		return queryErr(p.toks[p.i-1].pos, kindNotSupported,
			"'GROUP BY' clause is not supported for search attribute %s", a.name)
	}
	p.q.groupBy = a
	return nil
}

func (p *parser) parseOrderBy() error {
	if err := p.expectKeyword("BY"); err != nil {
		return err
	}
	for {
		a, err := p.parseName()
		if err != nil {
			return err
		}
		if a.typ == text {
			return queryErr(p.toks[p.i-1].pos, kindNotSupported, "unable to sort by search attribute type %s", a.typ)
		}
		desc := p.accept("DESC")
		if !desc {
			p.accept("ASC")
		}
		p.q.orderBy = append(p.q.orderBy, orderKey{a: a, desc: desc})
		if !p.peek().isOp(",") {
			return nil
		}
		p.next()
	}
}
