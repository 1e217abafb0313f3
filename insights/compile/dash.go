package compile

import (
	"reflect"
	"strings"

	"github.com/flowlens/flowlens/insights"
)

// The flow log writes "-" for a value it does not have (srcaddr of a NODATA
// record, instance_id of an interface without an instance). The lake stores
// it as NULL (DESIGN §3), but CloudWatch Logs Insights, whose language this
// is, sees the text "-": action != "REJECT" keeps NODATA records there, and
// action = "-" finds them. This file holds the one rule that makes the
// compiled SQL answer as CloudWatch does:
//
//	in a comparison, a null field of the view is the text "-".
//
// A comparison of such a field with a literal is compiled as it was (so that
// engines still push it down to the Parquet scan) and the answer for "-" is
// worked out here, once, by comparing "-" with the literal in Go. When that
// answer is true, "OR field IS NULL" is added (IS DISTINCT FROM for !=,
// IS NULL for = "-"). A not is pushed down through and and or to the
// comparisons, so that every comparison states its own answer for "-"
// instead of leaving NULL to a NOT. In the results, text fields of the view
// show "-" (showDash); numbers stay null. Functions and aggregates see null as
// a missing value, because the lake also stores as NULL a field that the
// record's format does not have, and ispresent(pkt_srcaddr) must tell
// those apart.

// dashColumn reports whether a column of the view is a flow-log field whose
// NULL stands for "-"; the partition columns are never null.
func dashColumn(col string) bool {
	switch strings.ToLower(col) {
	case "year", "month", "day":
		return false
	}
	return true
}

// dashText is the text CloudWatch sees for a missing flow-log value.
const dashText = "-"

// showDash is v as results show it: a text field of the view that is null
// shows "-".
func (c *compiler) showDash(v value) sqlExpr {
	if v.dash && v.t == vStr {
		return fcall(fnCoalesce, v.x, strLit{dashText})
	}
	return v.x
}

// leaf is a compiled comparison, ready to be rendered under an even or odd
// number of nots.
type leaf struct {
	x      sqlExpr   // the comparison when none of nulls is null
	nulls  []sqlExpr // fields of the view whose null stands for "-"
	ifNull bool      // CloudWatch's answer of x when one of nulls is "-"
	neg    bool      // the operator negates x (!=, not in, not like)
}

// leafSQL renders the leaf, negated when neg. In a WHERE clause whose nots
// have been pushed down to the comparisons, NULL acts as false, so the null
// case only needs writing when its answer is true (x being null when one of
// nulls is, except for a constant x).
func (c *compiler) leafSQL(l leaf, neg bool) sqlExpr {
	neg = neg != l.neg
	want := l.ifNull != neg
	x := l.x
	if neg {
		x = negateSQL(x)
	}
	if len(l.nulls) == 0 {
		return x
	}
	var anyNull, noNull sqlExpr
	for _, n := range l.nulls {
		if anyNull == nil {
			anyNull, noNull = isNull{x: n}, isNull{x: n, not: true}
		} else {
			anyNull, noNull = binOp{"OR", anyNull, isNull{x: n}}, binOp{"AND", noNull, isNull{x: n, not: true}}
		}
	}
	if b, ok := x.(boolLit); ok {
		// A constant (dstport in ["-"]) is not null when the field is:
		// the null case is written out either way.
		c.dashLeaves++
		switch {
		case b.v && want:
			return boolLit{true}
		case b.v:
			return noNull
		case want:
			return anyNull
		}
		return boolLit{false}
	}
	if !want {
		return x
	}
	c.dashLeaves++
	if b, ok := x.(binOp); ok && b.op == "<>" && len(l.nulls) == 1 {
		if reflect.DeepEqual(b.x, l.nulls[0]) && !hasColumn(b.y) {
			return distinctFrom{x: b.x, y: b.y}
		}
		if reflect.DeepEqual(b.y, l.nulls[0]) && !hasColumn(b.x) {
			return distinctFrom{x: b.y, y: b.x}
		}
	}
	return binOp{"OR", x, anyNull}
}

// negateSQL is NOT x, written as the opposite operator where there is one.
func negateSQL(x sqlExpr) sqlExpr {
	switch x := x.(type) {
	case binOp:
		if x.op == "=" {
			return binOp{"<>", x.x, x.y}
		}
	case inList:
		x.not = !x.not
		return x
	case isNull:
		x.not = !x.not
		return x
	case boolLit:
		return boolLit{!x.v}
	}
	return unOp{"NOT", x}
}

// isComparison reports whether op is an operator compiled through compare.
func isComparison(op string) bool {
	switch op {
	case "=", "!=", "<", "<=", ">", ">=", "in", "not in", "like", "not like", "=~":
		return true
	}
	return false
}

// pred compiles a condition for WHERE, negated when neg: nots go down
// through and and or (De Morgan) to the comparisons.
func (c *compiler) pred(e insights.Expr, neg bool) sqlExpr {
	switch e := e.(type) {
	case *insights.UnaryExpr:
		if e.Op == "not" {
			return c.pred(e.X, !neg)
		}
	case *insights.BinaryExpr:
		switch {
		case e.Op == "and" || e.Op == "or":
			op := strings.ToUpper(e.Op)
			if neg {
				op = map[string]string{"AND": "OR", "OR": "AND"}[op]
			}
			return binOp{op, c.pred(e.X, neg), c.pred(e.Y, neg)}
		case isComparison(e.Op):
			return c.leafSQL(c.compare(e), neg)
		}
	}
	x := c.condValue(e)
	if neg {
		return unOp{"NOT", x}
	}
	return x
}

// boolValue compiles a condition used as a value (fields ok = action =
// "ACCEPT"): true, false, or null when SQL cannot tell (a missing parse
// result), and never null for a field that is "-".
func (c *compiler) boolValue(e insights.Expr) value {
	n := c.dashLeaves
	p := c.pred(e, false)
	if c.dashLeaves == n {
		return value{x: p, t: vBool}
	}
	q := c.pred(e, true)
	return value{x: caseWhen{when: p, then: boolLit{true}, els: caseWhen{when: q, then: boolLit{false}}}, t: vBool}
}

// isDashLit reports whether e is the string literal "-".
func isDashLit(e insights.Expr) bool {
	s, ok := e.(*insights.StringLit)
	return ok && s.Value == dashText
}

// compare compiles a comparison operator.
func (c *compiler) compare(e *insights.BinaryExpr) leaf {
	switch e.Op {
	case "like", "not like", "=~":
		v := c.expr(e.X)
		x := c.textOf(v)
		l := leaf{neg: e.Op == "not like"}
		switch y := e.Y.(type) {
		case *insights.StringLit:
			s := c.text(y.Value, y.Pos, "string")
			l.x = fcall(fnContains, x, strLit{s})
			l.ifNull = strings.Contains(dashText, s)
		case *insights.RegexLit:
			l.x = fcall(fnRegexpMatch, x, c.regex(y))
			re, _ := compileRegex(toRE2(y.Pattern)) // c.regex checked it
			l.ifNull = re != nil && re.MatchString(dashText)
		default:
			c.fail(e.Y.Position(), "expected a string or a regular expression after %s", e.Op)
		}
		if v.dash {
			l.nulls = []sqlExpr{v.x}
		}
		return l
	case "in", "not in":
		x := c.expr(e.X)
		list, ok := e.Y.(*insights.ListExpr)
		if !ok {
			c.fail(e.Y.Position(), "expected a list after %s", e.Op)
		}
		l := leaf{neg: e.Op == "not in"}
		var left sqlExpr
		var elems []sqlExpr
		for _, el := range list.Elems {
			c.checkValue(el)
			if x.dash && isDashLit(el) {
				l.ifNull = true
				if x.t != vStr {
					continue // a number field has no "-" other than null
				}
			}
			a, b := c.coerce("=", e.X, x, el, c.expr(el))
			if left != nil && !reflect.DeepEqual(left, a) {
				c.fail(list.Pos, "the values of the list must all be numbers or all be strings")
			}
			left = a
			elems = append(elems, b)
		}
		switch {
		case len(elems) == 0 && len(list.Elems) > 0:
			l.x = boolLit{false}
		default:
			l.x = inList{x: left, list: elems}
		}
		if x.dash {
			l.nulls = []sqlExpr{x.x}
			for _, b := range elems {
				if s, ok := b.(strLit); ok && s.s == dashText {
					l.ifNull = true
				}
			}
		}
		return l
	}
	// =, !=, <, <=, >, >=
	x := c.expr(e.X)
	c.checkValue(e.Y)
	y := c.expr(e.Y)
	op := e.Op
	l := leaf{neg: op == "!="}
	if op == "!=" {
		op = "="
	}
	if op == "=" {
		// = "-" asks for the records where the flow log said "-".
		if x.dash && isDashLit(e.Y) {
			l.x = isNull{x: x.x}
			return l
		}
		if y.dash && isDashLit(e.X) {
			l.x = isNull{x: y.x}
			return l
		}
	}
	switch {
	case x.dash && y.lit, y.dash && x.lit:
		a, b := c.coerce(e.Op, e.X, x, e.Y, y)
		l.x = binOp{op, a, b}
		field, lit, litLeft := x, b, false
		if y.dash {
			field, lit, litLeft = y, a, true
		}
		l.nulls = []sqlExpr{field.x}
		l.ifNull = dashCompares(op, lit, litLeft)
		return l
	case x.dash || y.dash:
		return c.compareFields(e, op, l, x, y)
	}
	a, b := c.coerce(e.Op, e.X, x, e.Y, y)
	l.x = binOp{op, a, b}
	return l
}

// dashCompares is CloudWatch's answer to "-" op lit (lit op "-" when
// litLeft), lit being the literal as compiled: text compares with "-" as
// text, and "-" is no number, so every comparison with a number is false.
func dashCompares(op string, lit sqlExpr, litLeft bool) bool {
	s, ok := lit.(strLit)
	if !ok {
		return false
	}
	a, b := dashText, s.s
	if litLeft {
		a, b = b, a
	}
	switch op {
	case "=":
		return a == b
	case "<":
		return a < b
	case "<=":
		return a <= b
	case ">":
		return a > b
	case ">=":
		return a >= b
	}
	return false
}

// compareFields compiles a comparison of two expressions of which one or
// both are fields of the view: a text side is replaced by its "-"; a number
// field that is null is "-", which equals only another "-" and orders with
// no number.
func (c *compiler) compareFields(e *insights.BinaryExpr, op string, l leaf, x, y value) leaf {
	if x.dash && y.dash && x.t == vNum && y.t == vNum {
		a, b := c.coerce(e.Op, e.X, x, e.Y, y)
		either := binOp{"OR", isNull{x: a}, isNull{x: b}}
		var whenNull sqlExpr = boolLit{false}
		if op == "=" || op == "<=" || op == ">=" {
			whenNull = binOp{"AND", isNull{x: a}, isNull{x: b}}
		}
		l.x = caseWhen{when: either, then: whenNull, els: binOp{op, a, b}}
		return l
	}
	var nulls []sqlExpr
	side := func(v value) value {
		if !v.dash {
			return v
		}
		if v.t == vStr {
			return value{x: c.showDash(v), t: vStr}
		}
		nulls = append(nulls, v.x)
		v.dash = false
		return v
	}
	x, y = side(x), side(y)
	a, b := c.coerce(e.Op, e.X, x, e.Y, y)
	// A number compared as text with a text field: its null is "-" too.
	for _, s := range []*sqlExpr{&a, &b} {
		if ct, ok := (*s).(cast); ok && ct.to == typeVarchar && len(nulls) > 0 && reflect.DeepEqual(ct.x, nulls[0]) {
			*s = fcall(fnCoalesce, ct, strLit{dashText})
			nulls = nil
		}
	}
	l.x = binOp{op, a, b}
	l.nulls = nulls
	return l
}
