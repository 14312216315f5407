package visibility

import (
	"strings"
	"unicode"
)

// textMatch gives Text attributes Temporal's full-text meaning. The SQL
// store splits the query value on spaces and asks SQLite FTS5 for rows
// matching any of the pieces as a phrase, where FTS5's unicode61 tokenizer
// splits on anything but letters and digits and ignores case. So
// `CustomTextField = 'quick fox'` lists records whose text has the word
// "quick" or the word "fox", and 'quick-fox' needs the two words adjacent.
// `!=` is the exact negation, true for records without the attribute.
func textMatch(v any, op, query string) truth {
	doc, _ := v.(string)
	words := textTokens(doc)
	found := false
	for _, phrase := range strings.Split(query, " ") {
		if p := textTokens(phrase); len(p) > 0 && containsRun(words, p) {
			found = true
			break
		}
	}
	return truthOf(found == (op == opEq))
}

// textTokens lower-cases s and splits it into runs of letters, digits and
// marks.
func textTokens(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.IsMark(r) && !unicode.Is(unicode.Co, r)
	})
}

// containsRun reports whether phrase occurs in words as consecutive words.
func containsRun(words, phrase []string) bool {
	for i := 0; i+len(phrase) <= len(words); i++ {
		match := true
		for j := range phrase {
			if words[i+j] != phrase[j] {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

// hasTextTokens reports whether a Text query value can match anything;
// Temporal rejects values that are empty or only spaces.
func hasTextTokens(s string) bool {
	return strings.TrimLeft(s, " ") != ""
}
