package visibility

import (
	"slices"
	"strings"
)

// parsePredicate parses one comparison of an attribute with constants and
// checks operator and values against the attribute's type, so that every
// type error surfaces at Parse and evaluation cannot fail; under the
// schema's DeferErrors such a comparison becomes a failNode instead.
func (p *parser) parsePredicate() (node, error) {
	p.bad = false
	n, err := p.predicate()
	if err == nil && p.bad {
		return failNode{}, nil
	}
	return n, err
}

func (p *parser) predicate() (node, error) {
	a, err := p.parseName()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	if clauseStart(t) || t.is("AND") || t.is("OR") || t.isOp(")") {
		return p.inapplicable(queryErr(t.pos, kindInvalid,
			"incomplete expression: search attribute '%s' must be followed by an operator", a.name))
	}
	p.next()
	var op string
	switch {
	case t.is("IS"):
		not := p.accept("NOT")
		if p.accept("NULL") {
			return isNullNode{a: a, not: not, emptyIsNull: p.s.EmptyIsNull}, nil
		}
		err := queryErr(t.pos, kindInvalid, "'IS' operator can only be used as 'IS NULL' or 'IS NOT NULL'")
		if p.accept("TRUE") || p.accept("FALSE") { // well formed, as in SQL
			return p.inapplicable(err)
		}
		return nil, err
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
	default:
		return nil, syntaxErr(t, "a comparison operator")
	}
	if err := p.checkOperator(a, op, t.pos); err != nil {
		return nil, err
	}
	lits, err := p.parseOperands(op)
	if err != nil {
		return nil, err
	}
	n := cmpNode{a: a, op: op}
	for _, l := range lits {
		v, err := convert(a, l)
		if err == nil && p.s.CheckValue != nil {
			if e := p.s.CheckValue(a.field, a.typ, v); e != nil {
				err = queryErr(l.pos, kindInvalid, "%s", e)
			}
		}
		if err != nil {
			if err := p.soft(err); err != nil {
				return nil, err
			}
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
		l, err := parseNumber(t.val, t.pos)
		return l, p.soft(err)
	case t.isOp("-") || t.isOp("+"):
		n := p.next()
		if n.kind != tNumber {
			return literal{}, syntaxErr(n, "a number")
		}
		l, err := parseNumber(t.val+n.val, t.pos)
		return l, p.soft(err)
	case t.is("TRUE") || t.is("FALSE"):
		return literal{v: t.is("TRUE"), pos: t.pos}, nil
	case t.is("NULL"):
		return literal{pos: t.pos}, p.soft(queryErr(t.pos, kindInvalid,
			"comparison with NULL never matches, use IS NULL or IS NOT NULL"))
	case t.kind == tQuoted || t.kind == tIdent && !isKeyword(t.val):
		return literal{pos: t.pos}, p.soft(queryErr(t.pos, kindNotSupported,
			"column name on the right side of comparison expression (did you forget to quote %q?)", t.val))
	}
	return literal{}, syntaxErr(t, "a value")
}

// checkOperator enforces the schema's per-type operator lists.
func (p *parser) checkOperator(a *attribute, op string, pos int) error {
	if slices.Contains(p.s.Operators(a.field, a.typ), op) {
		return nil
	}
	if op == opBetween || op == opNotBetween {
		return p.soft(queryErr(pos, kindInvalid,
			"cannot do range condition on search attribute '%s' of type %s", a.name, a.typ))
	}
	return p.soft(queryErr(pos, kindNotSupported,
		"operator '%s' not supported for %s type search attribute '%s'", strings.ToUpper(op), a.typ, a.name))
}

func (p *parser) parseGroupBy() error {
	if err := p.expectKeyword("BY"); err != nil {
		return err
	}
	p.bad = false
	a, err := p.parseName()
	if err != nil {
		return err
	}
	if t := p.peek(); t.isOp(",") {
		return queryErr(t.pos, kindNotSupported, "'GROUP BY' clause supports only a single field")
	}
	if a.field != ExecutionStatus && a.field != NamespaceDivision &&
		!strings.HasPrefix(a.field, "TemporalLowCardinalityKeyword") {
		if err := p.soft(queryErr(p.toks[p.i-1].pos, kindNotSupported,
			"'GROUP BY' clause is not supported for search attribute %s", a.name)); err != nil {
			return err
		}
	}
	if !p.bad {
		p.q.groupBy = a
	}
	return nil
}

func (p *parser) parseOrderBy() error {
	if err := p.expectKeyword("BY"); err != nil {
		return err
	}
	for {
		p.bad = false
		a, err := p.parseName()
		if err != nil {
			return err
		}
		if a.typ == text {
			err := p.soft(queryErr(p.toks[p.i-1].pos, kindNotSupported, "unable to sort by search attribute type %s", a.typ))
			if err != nil {
				return err
			}
		}
		desc := p.accept("DESC")
		if !desc {
			p.accept("ASC")
		}
		if !p.bad {
			p.q.orderBy = append(p.q.orderBy, orderKey{a: a, desc: desc})
		}
		if !p.peek().isOp(",") {
			return nil
		}
		p.next()
	}
}
