package visibility

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind int

const (
	tEOF    tokKind = iota
	tIdent          // bare word; keywords are bare words compared case-insensitively
	tQuoted         // `backquoted` name, never a keyword
	tString         // 'single' or "double" quoted literal, unescaped in val
	tNumber         // unsigned integer or decimal literal
	tOp             // ( ) , + - and comparison operators
)

// token is one lexical unit. text is the source spelling, kept for error
// messages; val is what the parser uses.
type token struct {
	kind tokKind
	text string
	val  string
	pos  int // 1-based byte offset of the first character
}

// is reports whether t is the bare keyword kw (given in upper case).
func (t token) is(kw string) bool {
	return t.kind == tIdent && strings.EqualFold(t.val, kw)
}

// isOp reports whether t is the operator or punctuation op.
func (t token) isOp(op string) bool { return t.kind == tOp && t.val == op }

// lex splits the whole query up front so the parser can look ahead freely.
func lex(s string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		start := i
		switch {
		case unicode.IsSpace(r):
			i += size
			continue
		case r == '_' || unicode.IsLetter(r):
			for i < len(s) {
				r, size = utf8.DecodeRuneInString(s[i:])
				if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
					break
				}
				i += size
			}
			toks = append(toks, token{kind: tIdent, text: s[start:i], val: s[start:i], pos: start + 1})
			continue
		case r >= '0' && r <= '9' || r == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			i = scanNumber(s, i)
			toks = append(toks, token{kind: tNumber, text: s[start:i], val: s[start:i], pos: start + 1})
			continue
		case r == '\'' || r == '"' || r == '`':
			val, end, ok := scanQuoted(s, i)
			if !ok {
				what := "string"
				if r == '`' {
					what = "quoted name"
				}
				return nil, queryErr(start+1, kindMalformed,
					"syntax error at position %d: unterminated %s", start+1, what)
			}
			kind := tString
			if r == '`' {
				kind = tQuoted
			}
			i = end
			toks = append(toks, token{kind: kind, text: s[start:i], val: val, pos: start + 1})
			continue
		}
		if op := scanOp(s[i:]); op != "" {
			i += len(op)
			val := op
			if op == "<>" {
				val = "!="
			}
			toks = append(toks, token{kind: tOp, text: op, val: val, pos: start + 1})
			continue
		}
		return nil, queryErr(start+1, kindMalformed,
			"syntax error at position %d near '%s': unexpected character", start+1, string(r))
	}
	toks = append(toks, token{kind: tEOF, pos: len(s) + 1})
	return toks, nil
}

// scanNumber returns the end of the decimal literal starting at i:
// digits, an optional fraction and an optional exponent.
func scanNumber(s string, i int) int {
	digits := func() {
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	digits()
	if i < len(s) && s[i] == '.' {
		i++
		digits()
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && s[j] >= '0' && s[j] <= '9' {
			i = j
			digits()
		}
	}
	return i
}

// scanQuoted reads a quoted string or name starting at the quote s[i]. A
// doubled quote stands for itself; in strings, backslash escapes follow
// MySQL, which is what Temporal's parser implements.
func scanQuoted(s string, i int) (val string, end int, ok bool) {
	q := s[i]
	var b strings.Builder
	for i++; i < len(s); i++ {
		c := s[i]
		switch {
		case c == q && i+1 < len(s) && s[i+1] == q:
			b.WriteByte(q)
			i++
		case c == q:
			return b.String(), i + 1, true
		case c == '\\' && q != '`' && i+1 < len(s):
			i++
			b.WriteString(unescape(s[i]))
		default:
			b.WriteByte(c)
		}
	}
	return "", len(s), false
}

func unescape(c byte) string {
	switch c {
	case 'n':
		return "\n"
	case 't':
		return "\t"
	case 'r':
		return "\r"
	case 'b':
		return "\b"
	case '0':
		return "\x00"
	case 'Z':
		return "\x1a"
	}
	return string(c)
}

// ops lists operators longest first so "<=>" wins over "<=" and "<".
var ops = []string{"<=>", "<=", ">=", "!=", "<>", "=", "<", ">", "(", ")", ",", "-", "+"}

func scanOp(s string) string {
	for _, op := range ops {
		if strings.HasPrefix(s, op) {
			return op
		}
	}
	return ""
}
