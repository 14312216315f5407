package visibility

import "fmt"

// Error reports a query or search attribute that the server must reject
// with gRPC InvalidArgument. Its message already uses Temporal's wording
// (query errors start with "invalid query: "), so a server can hand
// Error() to the client unchanged and SDK code matching on text still works.
type Error struct {
	// Pos is the 1-based byte offset in the query where the problem was
	// found, or 0 when it is not tied to one place.
	Pos int
	// Msg is the full message returned by Error.
	Msg string
}

func (e *Error) Error() string { return e.Msg }

// The three kinds of query error Temporal distinguishes in its messages.
const (
	kindMalformed    = "malformed SQL query"
	kindNotSupported = "operation is not supported"
	kindInvalid      = "invalid expression"
)

// queryErr builds a query error the way Temporal formats them:
// "invalid query: <kind>: <detail>".
func queryErr(pos int, kind, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: "invalid query: " + kind + ": " + fmt.Sprintf(format, args...)}
}

// syntaxErr reports a token the grammar did not expect, pointing at it so a
// user can find the problem in a long query.
func syntaxErr(t token, expected string) *Error {
	if t.kind == tEOF {
		return queryErr(t.pos, kindMalformed,
			"syntax error at position %d: unexpected end of query, expected %s", t.pos, expected)
	}
	return queryErr(t.pos, kindMalformed,
		"syntax error at position %d near '%s': expected %s", t.pos, t.text, expected)
}
