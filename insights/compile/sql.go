package compile

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The SQL syntax tree. The compiler builds it; render turns it into text for
// a Dialect. Text from the query only enters it as colRef names and strLit
// values, which the dialect quotes.
type sqlExpr interface{ sqlNode() }

type (
	colRef  struct{ name string }
	strLit  struct{ s string }
	numLit  struct{ text string } // produced from checked numbers only
	boolLit struct{ v bool }
	nullLit struct{}
	// binOp is x op y; op is AND, OR, =, <>, <, <=, >, >=, +, -, *, /, % or ||.
	binOp struct {
		op   string
		x, y sqlExpr
	}
	// unOp is NOT x or -x.
	unOp struct {
		op string
		x  sqlExpr
	}
	isNull struct {
		x   sqlExpr
		not bool
	}
	// distinctFrom is x IS DISTINCT FROM y: x <> y where NULL is a value.
	distinctFrom struct{ x, y sqlExpr }
	inList       struct {
		x    sqlExpr
		list []sqlExpr
		not  bool
	}
	call struct {
		fn   fn
		args []sqlExpr
	}
	cast struct {
		x   sqlExpr
		to  sqlType
		try bool
	}
	caseWhen struct{ when, then, els sqlExpr } // els may be nil
	// rowNumber is row_number() OVER (PARTITION BY ... ORDER BY ...).
	rowNumber struct {
		partition []sqlExpr
		order     []orderItem
	}
)

func (colRef) sqlNode()       {}
func (strLit) sqlNode()       {}
func (numLit) sqlNode()       {}
func (boolLit) sqlNode()      {}
func (nullLit) sqlNode()      {}
func (binOp) sqlNode()        {}
func (unOp) sqlNode()         {}
func (isNull) sqlNode()       {}
func (distinctFrom) sqlNode() {}
func (inList) sqlNode()       {}
func (call) sqlNode()         {}
func (cast) sqlNode()         {}
func (caseWhen) sqlNode()     {}
func (rowNumber) sqlNode()    {}

type orderItem struct {
	x    sqlExpr
	desc bool
}

type selectItem struct {
	star    bool
	except  []string     // with star
	replace []selectItem // with star: columns shown as another expression
	x       sqlExpr
	alias   string // "" to keep the expression's own name
}

// selectStmt is one SELECT; from is a table name or a subquery.
type selectStmt struct {
	items    []selectItem
	table    string
	sub      *selectStmt
	subAlias string
	where    []sqlExpr
	groupBy  []sqlExpr
	qualify  sqlExpr
	orderBy  []orderItem
	limit    int64 // 0: none
}

func num(n int64) sqlExpr                 { return numLit{strconv.FormatInt(n, 10)} }
func fcall(f fn, args ...sqlExpr) sqlExpr { return call{f, args} }
func and(xs ...sqlExpr) sqlExpr {
	var out sqlExpr
	for _, x := range xs {
		if out == nil {
			out = x
		} else {
			out = binOp{"AND", out, x}
		}
	}
	return out
}

type renderer struct {
	d   Dialect
	err error
}

// syntax is implemented by dialects that write some constructs otherwise
// than standard SQL, or cannot write them at all (ClickHouse 18.16). The
// errors name the construct and wrap insights.ErrUnsupported.
type syntax interface {
	boolean(v bool) string
	distinctFrom(x, y string) string
	// checkStar refuses a star with except or replace columns it cannot write.
	checkStar(except, replace []string) error
	// window refuses row_number() OVER … and QUALIFY (the dedup command).
	window() error
	// checkCall refuses a function the dialect cannot write.
	checkCall(f fn, args []string) error
	// in writes x [NOT] IN (list), which is NULL when x is.
	in(x string, list []string, not bool) string
}

func (r *renderer) setErr(err error) {
	if err != nil && r.err == nil {
		r.err = err
	}
}

// render turns a statement into SQL text.
func render(d Dialect, s *selectStmt) (string, error) {
	r := &renderer{d: d}
	out := r.stmt(s, "")
	if r.err != nil {
		return "", r.err
	}
	return out, nil
}

func (r *renderer) ident(s string) string {
	if err := checkText(s); err != nil && r.err == nil {
		r.err = fmt.Errorf("identifier %q %v", s, err)
	}
	return r.d.ident(s)
}

func (r *renderer) str(s string) string {
	if err := checkText(s); err != nil && r.err == nil {
		r.err = fmt.Errorf("string %q %v", s, err)
	}
	return r.d.str(s)
}

func (r *renderer) stmt(s *selectStmt, ind string) string {
	var b strings.Builder
	b.WriteString(ind + "SELECT ")
	for i, it := range s.items {
		if i > 0 {
			b.WriteString(", ")
		}
		if it.star {
			for _, e := range it.except {
				r.ident(e) // checks the text
			}
			var repl []string
			for _, rp := range it.replace {
				repl = append(repl, r.expr(rp.x)+" AS "+r.ident(rp.alias))
			}
			if sx, ok := r.d.(syntax); ok {
				r.setErr(sx.checkStar(it.except, repl))
			}
			b.WriteString(r.d.star(it.except, repl))
			continue
		}
		b.WriteString(r.expr(it.x))
		if it.alias != "" {
			b.WriteString(" AS " + r.ident(it.alias))
		}
	}
	b.WriteString("\n" + ind + "FROM ")
	if s.sub != nil {
		b.WriteString("(\n" + r.stmt(s.sub, ind+"  ") + "\n" + ind + ") AS " + r.ident(s.subAlias))
	} else {
		b.WriteString(r.ident(s.table))
	}
	if len(s.where) > 0 {
		b.WriteString("\n" + ind + "WHERE ")
		for i, w := range s.where {
			if i > 0 {
				b.WriteString("\n" + ind + "  AND ")
			}
			b.WriteString(r.child(w, "AND", false))
		}
	}
	if len(s.groupBy) > 0 {
		b.WriteString("\n" + ind + "GROUP BY ")
		for i, g := range s.groupBy {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(r.expr(g))
		}
	}
	if s.qualify != nil {
		if sx, ok := r.d.(syntax); ok {
			r.setErr(sx.window())
		}
		b.WriteString("\n" + ind + "QUALIFY " + r.expr(s.qualify))
	}
	if len(s.orderBy) > 0 {
		b.WriteString("\n" + ind + "ORDER BY " + r.order(r.unshadow(s, s.orderBy)))
	}
	if s.limit > 0 {
		b.WriteString("\n" + ind + "LIMIT " + strconv.FormatInt(s.limit, 10))
	}
	return b.String()
}

func (r *renderer) order(items []orderItem) string {
	parts := make([]string, len(items))
	for i, o := range items {
		parts[i] = r.expr(o.x)
		if o.desc {
			parts[i] += " DESC"
		} else {
			parts[i] += " ASC"
		}
	}
	return strings.Join(parts, ", ")
}

// qualified is a column read from a named FROM item: "q1"."bytes".
type qualified struct{ from, name string }

func (qualified) sqlNode() {}

// unshadow qualifies the ORDER BY keys that are bare columns named like an
// output column of s that holds something else: SQL engines resolve a bare
// name in ORDER BY to the output column first, but the key means the
// column of the FROM (as in "sort bytes | fields 0 - bytes as bytes").
func (r *renderer) unshadow(s *selectStmt, items []orderItem) []orderItem {
	from := s.table
	if s.sub != nil {
		from = s.subAlias
	}
	out := make([]orderItem, len(items))
	for i, o := range items {
		out[i] = o
		c, ok := o.x.(colRef)
		if !ok {
			continue
		}
		for _, it := range s.items {
			if it.star || it.alias == "" || !strings.EqualFold(it.alias, c.name) {
				continue
			}
			if x, ok := it.x.(colRef); ok && x.name == c.name {
				continue
			}
			out[i].x = qualified{from: from, name: c.name}
			break
		}
	}
	return out
}

// prec is the binding strength of an SQL expression, loosest first.
func prec(x sqlExpr) int {
	switch x := x.(type) {
	case binOp:
		switch x.op {
		case "OR":
			return 1
		case "AND":
			return 2
		case "||":
			return 5
		case "+", "-":
			return 6
		case "*", "/", "%":
			return 7
		}
		return 4 // comparisons
	case unOp:
		if x.op == "NOT" {
			return 3
		}
		return 8
	case isNull, inList, distinctFrom:
		return 4
	}
	return 9 // columns, literals, calls, casts, CASE
}

// child renders x as an operand of the binary operator op, in parentheses
// unless precedence makes them needless. Comparisons never chain, and the
// operands of || are kept apart from arithmetic, whose relative precedence
// differs between engines.
func (r *renderer) child(x sqlExpr, op string, right bool) string {
	p, c := prec(binOp{op: op}), prec(x)
	paren := c < p
	if c == p {
		same := false
		if b, ok := x.(binOp); ok && b.op == op {
			same = op == "AND" || op == "OR" || op == "||" || op == "+" || op == "*"
		}
		paren = p == 4 || right && !same
	}
	if p == 5 && c < 9 && !(c == 5 && !right) {
		if b, ok := x.(binOp); !ok || b.op != "||" {
			paren = true
		}
	}
	if n, ok := x.(numLit); ok && strings.HasPrefix(n.text, "-") && (op == "-" || op == "+") {
		paren = true
	}
	if paren {
		return "(" + r.expr(x) + ")"
	}
	return r.expr(x)
}

// atom renders x in parentheses unless it is a column, literal or call.
func (r *renderer) atom(x sqlExpr) string {
	if n, ok := x.(numLit); prec(x) < 9 || ok && strings.HasPrefix(n.text, "-") {
		return "(" + r.expr(x) + ")"
	}
	return r.expr(x)
}

func (r *renderer) expr(x sqlExpr) string {
	switch x := x.(type) {
	case colRef:
		return r.ident(x.name)
	case qualified:
		return r.ident(x.from) + "." + r.ident(x.name)
	case strLit:
		return r.str(x.s)
	case numLit:
		if !sqlNumber.MatchString(x.text) && r.err == nil {
			r.err = fmt.Errorf("invalid number %q in SQL", x.text)
		}
		return x.text
	case boolLit:
		if sx, ok := r.d.(syntax); ok {
			return sx.boolean(x.v)
		}
		if x.v {
			return "true"
		}
		return "false"
	case nullLit:
		return "NULL"
	case binOp:
		return r.child(x.x, x.op, false) + " " + x.op + " " + r.child(x.y, x.op, true)
	case unOp:
		if x.op == "NOT" {
			return "NOT " + r.atom(x.x)
		}
		return "-" + r.atom(x.x)
	case isNull:
		if x.not {
			return r.atom(x.x) + " IS NOT NULL"
		}
		return r.atom(x.x) + " IS NULL"
	case distinctFrom:
		if sx, ok := r.d.(syntax); ok {
			return sx.distinctFrom(r.atom(x.x), r.atom(x.y))
		}
		return r.atom(x.x) + " IS DISTINCT FROM " + r.atom(x.y)
	case inList:
		parts := make([]string, len(x.list))
		for i, e := range x.list {
			parts[i] = r.expr(e)
		}
		if sx, ok := r.d.(syntax); ok {
			return sx.in(r.atom(x.x), parts, x.not)
		}
		op := " IN ("
		if x.not {
			op = " NOT IN ("
		}
		return r.atom(x.x) + op + strings.Join(parts, ", ") + ")"
	case call:
		args := make([]string, len(x.args))
		for i, a := range x.args {
			args[i] = r.expr(a)
		}
		if sx, ok := r.d.(syntax); ok {
			r.setErr(sx.checkCall(x.fn, args))
		}
		return r.d.call(x.fn, args)
	case cast:
		return r.d.cast(r.expr(x.x), x.to, x.try)
	case caseWhen:
		s := "CASE WHEN " + r.expr(x.when) + " THEN " + r.expr(x.then)
		if x.els != nil {
			s += " ELSE " + r.expr(x.els)
		}
		return s + " END"
	case rowNumber:
		var parts []string
		if len(x.partition) > 0 {
			ps := make([]string, len(x.partition))
			for i, p := range x.partition {
				ps[i] = r.expr(p)
			}
			parts = append(parts, "PARTITION BY "+strings.Join(ps, ", "))
		}
		if len(x.order) > 0 {
			parts = append(parts, "ORDER BY "+r.order(x.order))
		}
		return "row_number() OVER (" + strings.Join(parts, " ") + ")"
	}
	panic(fmt.Sprintf("compile: unknown SQL node %T", x))
}

// sqlNumber is the only number syntax numLit may hold.
var sqlNumber = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)
