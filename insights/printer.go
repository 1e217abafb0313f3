package insights

import (
	"strconv"
	"strings"
)

// String renders the query canonically: lower-case keywords, one space
// around operators, double-quoted strings, commands joined by " | ". The text
// parses back to an equal query.
func (q *Query) String() string {
	parts := make([]string, len(q.Commands))
	for i, c := range q.Commands {
		parts[i] = c.String()
	}
	return strings.Join(parts, " | ")
}

func (c *FieldsCmd) String() string { return "fields " + projections(c.Items) }

func (c *DisplayCmd) String() string { return "display " + fieldRefs(c.Fields) }

func (c *FilterCmd) String() string { return c.Name() + " " + c.X.String() }

func (c *StatsCmd) String() string {
	s := "stats " + projections(c.Aggs)
	if len(c.By) > 0 {
		s += " by " + projections(c.By)
	}
	return s
}

func (c *SortCmd) String() string {
	parts := make([]string, len(c.Keys))
	for i, k := range c.Keys {
		parts[i] = k.String()
	}
	return "sort " + strings.Join(parts, ", ")
}

func (k *SortKey) String() string {
	switch k.Order {
	case OrderAsc:
		return k.X.String() + " asc"
	case OrderDesc:
		return k.X.String() + " desc"
	}
	return k.X.String()
}

func (c *LimitCmd) String() string { return "limit " + strconv.FormatInt(c.N, 10) }

func (c *ParseCmd) String() string {
	var b strings.Builder
	b.WriteString("parse ")
	if c.Field != nil {
		b.WriteString(c.Field.String())
		b.WriteByte(' ')
	}
	if c.Regex {
		b.WriteString("/" + c.Pattern + "/")
		return b.String()
	}
	b.WriteString(QuoteString(c.Pattern))
	b.WriteString(" as ")
	for i, n := range c.Names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(QuoteName(n))
	}
	return b.String()
}

func (c *DedupCmd) String() string { return "dedup " + fieldRefs(c.Fields) }

func (p *Projection) String() string {
	if p.Alias == "" {
		return p.X.String()
	}
	return p.X.String() + " as " + QuoteName(p.Alias)
}

func projections(ps []*Projection) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.String()
	}
	return strings.Join(parts, ", ")
}

func fieldRefs(fs []*FieldRef) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.String()
	}
	return strings.Join(parts, ", ")
}

func (e *FieldRef) String() string    { return QuoteName(e.Name) }
func (e *StringLit) String() string   { return QuoteString(e.Value) }
func (e *NumberLit) String() string   { return e.Text }
func (e *DurationLit) String() string { return strconv.FormatInt(e.N, 10) + e.Unit }
func (e *RegexLit) String() string    { return "/" + e.Pattern + "/" }
func (e *StarExpr) String() string    { return "*" }

func (e *ListExpr) String() string {
	parts := make([]string, len(e.Elems))
	for i, x := range e.Elems {
		parts[i] = wrap(x, precAdd)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func (e *CallExpr) String() string {
	parts := make([]string, len(e.Args))
	for i, x := range e.Args {
		parts[i] = x.String()
	}
	return e.Name + "(" + strings.Join(parts, ", ") + ")"
}

func (e *UnaryExpr) String() string {
	if e.Op == "not" {
		return "not " + wrap(e.X, precNot)
	}
	return e.Op + wrap(e.X, precUnary)
}

func (e *BinaryExpr) String() string {
	p := precOf(e)
	var l, r string
	switch {
	case e.Op == "^": // right-associative
		l, r = wrap(e.X, p+1), wrap(e.Y, precUnary)
	case p == precCmp: // not associative
		l, r = wrap(e.X, p+1), wrap(e.Y, p+1)
	default: // left-associative
		l, r = wrap(e.X, p), wrap(e.Y, p+1)
	}
	return l + " " + e.Op + " " + r
}

// Operator precedence, loosest first, mirroring the parser.
const (
	precOr = iota + 1
	precAnd
	precNot
	precCmp
	precAdd
	precMul
	precUnary
	precPow
	precPrimary
)

func precOf(e Expr) int {
	switch e := e.(type) {
	case *BinaryExpr:
		switch e.Op {
		case "or":
			return precOr
		case "and":
			return precAnd
		case "+", "-":
			return precAdd
		case "*", "/", "%":
			return precMul
		case "^":
			return precPow
		}
		return precCmp
	case *UnaryExpr:
		if e.Op == "not" {
			return precNot
		}
		return precUnary
	}
	return precPrimary
}

// wrap prints e, in parentheses when it binds looser than min.
func wrap(e Expr, min int) string {
	if precOf(e) < min {
		return "(" + e.String() + ")"
	}
	return e.String()
}

// QuoteString renders s as a double-quoted string literal.
func QuoteString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// QuoteName renders a field name bare when it can be, else in backquotes.
func QuoteName(name string) string {
	if isBareName(name) {
		return name
	}
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

func isBareName(s string) bool {
	if s == "" || !isIdentStart(s[0]) || IsKeyword(s) || s == "@" {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentChar(s[i]) {
			return false
		}
	}
	return true
}
