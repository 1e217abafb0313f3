package compile

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// quote is the one function through which text from a query or from the
// caller (field names, aliases, string literals, regular expressions, the
// table name) becomes SQL text. It wraps s in the quote character q and
// doubles every q inside, which is the escaping rule of standard SQL for both
// identifiers (q is a double quote) and string literals (q is a single
// quote). When backslash is true (dialects whose strings give "\" a
// meaning), backslashes are doubled too. checkText must have accepted s.
func quote(s string, q byte, backslash bool) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte(q)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == q || backslash && c == '\\' {
			b.WriteByte(c)
		}
		b.WriteByte(c)
	}
	b.WriteByte(q)
	return b.String()
}

// checkText rejects text that no engine takes inside a quoted SQL token: NUL
// bytes and invalid UTF-8.
func checkText(s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("contains a NUL byte")
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("is not valid UTF-8")
	}
	return nil
}
