package compile

import (
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/flowlens/flowlens/insights"
)

// vtype is the type of a compiled expression, as far as the compiler knows.
type vtype int

const (
	vAny  vtype = iota // unknown: the engine decides
	vNum               // integer or floating point
	vStr               // text
	vBool              // condition
	vTime              // timestamp with time zone
	vDyn               // text from parse: a number when compared with one
)

func (t vtype) String() string {
	switch t {
	case vNum:
		return "a number"
	case vStr:
		return "a string"
	case vBool:
		return "a condition"
	case vTime:
		return "a timestamp"
	case vDyn:
		return "a parsed value"
	}
	return "a value"
}

// schemaType maps an SQL type name to a vtype.
func schemaType(typ string) vtype {
	t := strings.ToUpper(typ)
	switch {
	case strings.Contains(t, "INT"), strings.Contains(t, "DOUBLE"), strings.Contains(t, "FLOAT"),
		strings.Contains(t, "DECIMAL"), strings.Contains(t, "NUMERIC"), strings.Contains(t, "REAL"):
		return vNum
	case strings.Contains(t, "CHAR"), strings.Contains(t, "TEXT"), strings.Contains(t, "STRING"):
		return vStr
	case strings.Contains(t, "TIMESTAMP"), t == "DATE":
		return vTime
	case strings.HasPrefix(t, "BOOL"):
		return vBool
	}
	return vAny
}

// value is a compiled expression.
type value struct {
	x      sqlExpr
	t      vtype
	column string // the schema column, when the expression is just that column
	lit    bool   // a literal written in the query
	// dash marks a field of the view whose NULL stands for the flow log's
	// "-" (see dash.go): comparisons read it as that text.
	dash bool
}

// v1Message are the columns of @message: the default (version 2) format.
var v1Message = []string{"version", "account_id", "interface_id", "srcaddr", "dstaddr", "srcport",
	"dstport", "protocol", "packets", "bytes", "start", "end", "action", "log_status"}

func (c *compiler) lookupDef(name string) *binding {
	for _, match := range []func(string) bool{
		func(n string) bool { return n == name },
		func(n string) bool { return strings.EqualFold(n, name) },
		func(n string) bool { return NormalizeName(n) == NormalizeName(name) },
	} {
		for _, b := range c.lv.defs {
			if match(b.name) {
				return b
			}
		}
	}
	return nil
}

// field resolves a field name: fields defined so far first, then the @
// fields, then the schema's columns while they are visible.
func (c *compiler) field(f *insights.FieldRef) value {
	if b := c.lookupDef(f.Name); b != nil {
		return value{x: b.expr, t: b.typ, column: b.column, dash: b.dash}
	}
	if strings.HasPrefix(f.Name, "@") {
		return c.atField(f)
	}
	col, typ, ok := c.schema.Resolve(f.Name)
	if ok && c.lv.raw {
		return value{x: colRef{col}, t: schemaType(typ), column: col, dash: dashColumn(col)}
	}
	if ok {
		for _, b := range c.lv.defs {
			if b.column == col {
				return value{x: b.expr, t: b.typ, column: b.column, dash: b.dash}
			}
		}
		c.fail(f.Pos, "field %s is not available after stats: only %s can be used; add it to the by clause of stats",
			f.Name, c.defNames())
	}
	msg := "unknown field " + strconv.Quote(f.Name)
	if s := c.statsResult(f.Name); s != "" {
		msg += "; to use the result " + s + " of stats, write it in backquotes: `" + s + "`"
	} else if s := c.suggestField(f.Name); s != "" {
		msg += "; did you mean " + strconv.Quote(s) + "?"
	}
	c.fail(f.Pos, "%s", msg)
	return value{}
}

// statsResult returns the unnamed stats result that name is the function
// of (count for count(*)), or "".
func (c *compiler) statsResult(name string) string {
	for _, b := range c.lv.defs {
		if strings.HasPrefix(strings.ToLower(b.name), strings.ToLower(name)+"(") {
			return b.name
		}
	}
	return ""
}

// suggestField returns the field name that name is a likely typo of, or "".
func (c *compiler) suggestField(name string) string {
	var cands []string
	for _, b := range c.lv.defs {
		cands = append(cands, b.name)
	}
	if c.lv.raw {
		cands = append(cands, c.schema.Columns()...)
		cands = append(cands, "@timestamp", "@message", "@logStream")
	}
	return insights.Suggest(name, cands)
}

// checkValue fails when e, compared with something, is a name that is no
// field and no likely typo of one: most often a value written without
// quotes, as in action = ACCEPT.
func (c *compiler) checkValue(e insights.Expr) {
	f, ok := e.(*insights.FieldRef)
	if !ok || strings.HasPrefix(f.Name, "@") || c.lookupDef(f.Name) != nil {
		return
	}
	if _, _, ok := c.schema.Resolve(f.Name); ok {
		return
	}
	if strings.EqualFold(f.Name, "true") || strings.EqualFold(f.Name, "false") {
		c.fail(f.Pos, "unknown field %q; a condition is used alone (filter isValidIp(srcaddr)), with not, or compared with 1 or 0", f.Name)
	}
	if c.suggestField(f.Name) != "" {
		return
	}
	c.fail(f.Pos, "unknown field %q; if %s is a value, write it in quotes: %s", f.Name, f.Name, strconv.Quote(f.Name))
}

func (c *compiler) defNames() string {
	var q []string
	for _, b := range c.lv.defs {
		q = append(q, insights.QuoteName(b.name))
	}
	if len(q) == 0 {
		return "nothing"
	}
	return strings.Join(q, ", ")
}

func (c *compiler) column(f *insights.FieldRef, name string) colRef {
	col, _, ok := c.schema.Resolve(name)
	if !ok {
		c.fail(f.Pos, "%s needs the %s column, which the schema does not have", f.Name, name)
	}
	return colRef{col}
}

func (c *compiler) atField(f *insights.FieldRef) value {
	lower := strings.ToLower(f.Name)
	switch lower {
	case "@timestamp", "@message", "@logstream":
		if !c.lv.raw {
			c.fail(f.Pos, "%s is not available after stats: only %s can be used", f.Name, c.defNames())
		}
	}
	switch lower {
	case "@timestamp":
		return value{x: fcall(fnToTimestamp, c.column(f, "start")), t: vTime}
	case "@message":
		args := []sqlExpr{strLit{" "}}
		for _, name := range v1Message {
			args = append(args, fcall(fnCoalesce, cast{x: c.column(f, name), to: typeVarchar}, strLit{"-"}))
		}
		return value{x: fcall(fnConcatWS, args...), t: vStr}
	case "@logstream":
		return value{x: binOp{"||", c.column(f, "interface_id"), strLit{"-all"}}, t: vStr}
	case "@log":
		c.unsupported(f.Pos, "@log is not supported: flow-log records in the lake do not keep the CloudWatch log group they came from")
	case "@ptr":
		c.unsupported(f.Pos, "@ptr is not supported: flow-log records in the lake have no CloudWatch record pointer")
	case "@ingestiontime":
		c.unsupported(f.Pos, "@ingestionTime is not supported: the lake does not keep CloudWatch ingestion times")
	}
	msg := "unknown field " + strconv.Quote(f.Name)
	if s := insights.Suggest(f.Name, []string{"@timestamp", "@message", "@logStream"}); s != "" {
		msg += "; did you mean " + strconv.Quote(s) + "?"
	}
	c.fail(f.Pos, "%s", msg)
	return value{}
}

// decimal is the number syntax accepted inside strings compared with numbers.
var decimal = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// expr compiles an expression.
func (c *compiler) expr(e insights.Expr) value {
	if s := c.stats; s != nil && !s.inAgg {
		// Outside aggregates, a stats expression may only use the by keys;
		// a compound part without aggregates is checked as a whole.
		if _, isField := e.(*insights.FieldRef); !isField && !insights.HasAggregate(e) {
			c.stats = nil
			v := c.expr(e)
			c.stats = s
			c.checkGrouped(e, v)
			return v
		}
	}
	switch e := e.(type) {
	case *insights.FieldRef:
		v := c.field(e)
		c.checkGrouped(e, v)
		return v
	case *insights.StringLit:
		return value{x: strLit{c.text(e.Value, e.Pos, "string")}, t: vStr, lit: true}
	case *insights.NumberLit:
		if _, err := strconv.ParseFloat(e.Text, 64); err != nil {
			c.fail(e.Pos, "invalid number %s", e.Text)
		}
		return value{x: numLit{e.Text}, t: vNum, lit: true}
	case *insights.UnaryExpr:
		if e.Op == "not" {
			return c.boolValue(e)
		}
		v := c.number(e.X, "-")
		if n, ok := v.x.(numLit); ok && v.lit {
			if t, neg := strings.CutPrefix(n.text, "-"); neg {
				return value{x: numLit{t}, t: vNum, lit: true}
			}
			return value{x: numLit{"-" + n.text}, t: vNum, lit: true}
		}
		return value{x: unOp{"-", v.x}, t: vNum}
	case *insights.BinaryExpr:
		return c.binary(e)
	case *insights.CallExpr:
		return c.callExpr(e)
	}
	c.fail(e.Position(), "%s is not allowed here", e)
	return value{}
}

// checkGrouped enforces, in a stats expression, that what is used outside
// an aggregate is one of the by keys.
func (c *compiler) checkGrouped(e insights.Expr, v value) {
	s := c.stats
	if s == nil || s.inAgg {
		return
	}
	for _, k := range s.keys {
		if reflect.DeepEqual(k, v.x) {
			return
		}
	}
	if _, ok := e.(*insights.FieldRef); !ok {
		if hasColumn(v.x) {
			c.fail(e.Position(), "%s is used outside an aggregate in stats but is not in the by clause: add it to by, or wrap it in an aggregate such as max(...)", e)
		}
		return
	}
	c.fail(e.Position(), "%s is used outside an aggregate in stats but is not in the by clause: add it to by, or wrap it in an aggregate such as max(%s)", e, e)
}

func hasColumn(x sqlExpr) bool {
	return anyColumn(x, func(string) bool { return true })
}

// anyColumn reports whether x reads a column for which match is true.
func anyColumn(x sqlExpr, match func(name string) bool) bool {
	found := false
	var walk func(sqlExpr)
	walk = func(x sqlExpr) {
		switch x := x.(type) {
		case colRef:
			found = found || match(x.name)
		case binOp:
			walk(x.x)
			walk(x.y)
		case unOp:
			walk(x.x)
		case isNull:
			walk(x.x)
		case distinctFrom:
			walk(x.x)
			walk(x.y)
		case inList:
			walk(x.x)
			for _, e := range x.list {
				walk(e)
			}
		case call:
			for _, a := range x.args {
				walk(a)
			}
		case cast:
			walk(x.x)
		case caseWhen:
			walk(x.when)
			walk(x.then)
			if x.els != nil {
				walk(x.els)
			}
		case rowNumber:
			for _, p := range x.partition {
				walk(p)
			}
			for _, o := range x.order {
				walk(o.x)
			}
		}
	}
	walk(x)
	return found
}

// cond compiles an expression used as a condition.
func (c *compiler) cond(e insights.Expr) sqlExpr { return c.pred(e, false) }

// condValue compiles a condition that is neither a comparison nor and, or,
// not: a function such as isValidIp, or a number (true when not 0).
func (c *compiler) condValue(e insights.Expr) sqlExpr {
	v := c.expr(e)
	switch v.t {
	case vBool, vAny:
		return v.x
	case vNum:
		return binOp{"<>", v.x, numLit{"0"}}
	}
	c.fail(e.Position(), "expected a condition such as field = value, but %s is %s", e, v.t)
	return nil
}

// number compiles an operand of arithmetic or of a numeric function.
func (c *compiler) number(e insights.Expr, op string) value {
	v := c.expr(e)
	return c.asNumber(e, v, op)
}

func (c *compiler) asNumber(e insights.Expr, v value, op string) value {
	switch v.t {
	case vNum, vAny:
		return v
	case vDyn:
		return value{x: cast{x: v.x, to: typeDouble, try: true}, t: vNum}
	}
	c.fail(e.Position(), "%s needs a number, but %s is %s", op, e, v.t)
	return value{}
}

// textOf casts a value to text when it is not text already.
func (c *compiler) textOf(v value) sqlExpr {
	switch v.t {
	case vStr, vDyn, vAny:
		return v.x
	}
	return cast{x: v.x, to: typeVarchar}
}

func (c *compiler) binary(e *insights.BinaryExpr) value {
	switch e.Op {
	case "and", "or", "like", "not like", "=~", "in", "not in", "=", "!=", "<", "<=", ">", ">=":
		return c.boolValue(e)
	case "+", "-", "*", "/", "%":
		l, r := c.number(e.X, e.Op), c.number(e.Y, e.Op)
		return value{x: binOp{e.Op, l.x, r.x}, t: vNum}
	case "^":
		l, r := c.number(e.X, e.Op), c.number(e.Y, e.Op)
		return value{x: fcall(fnPow, l.x, r.x), t: vNum}
	}
	c.unsupported(e.Pos, "the operator %s is not supported", e.Op)
	return value{}
}

// coerce makes the two sides of a comparison comparable, the way Logs
// Insights compares loosely typed log fields: a literal takes the type of the
// other side, text compared with a number is read as a number.
func (c *compiler) coerce(op string, le insights.Expr, l value, re insights.Expr, r value) (sqlExpr, sqlExpr) {
	if r.lit && !l.lit {
		a, b := c.coerceLit(op, le, l, re, r)
		return a, b
	}
	if l.lit && !r.lit {
		b, a := c.coerceLit(op, re, r, le, l)
		return a, b
	}
	equality := op == "=" || op == "!="
	switch {
	case l.t == r.t, l.t == vAny, r.t == vAny:
		return l.x, r.x
	case l.t == vNum && (r.t == vStr || r.t == vDyn) && equality:
		return cast{x: l.x, to: typeVarchar}, r.x
	case r.t == vNum && (l.t == vStr || l.t == vDyn) && equality:
		return l.x, cast{x: r.x, to: typeVarchar}
	case l.t == vNum && (r.t == vStr || r.t == vDyn):
		return l.x, cast{x: r.x, to: typeDouble, try: true}
	case r.t == vNum && (l.t == vStr || l.t == vDyn):
		return cast{x: l.x, to: typeDouble, try: true}, r.x
	case l.t == vStr && r.t == vDyn, l.t == vDyn && r.t == vStr:
		return l.x, r.x
	}
	c.fail(insights.Pos{Start: le.Position().Start, End: re.Position().End},
		"cannot compare %s (%s) with %s (%s)", le, l.t, re, r.t)
	return nil, nil
}

// coerceLit converts the literal lit to the type of the field f.
func (c *compiler) coerceLit(op string, fe insights.Expr, f value, le insights.Expr, lit value) (sqlExpr, sqlExpr) {
	equality := op == "=" || op == "!="
	switch {
	case f.t == lit.t, f.t == vAny:
		return f.x, lit.x
	case f.t == vNum && lit.t == vStr:
		s := strings.TrimSpace(lit.x.(strLit).s)
		if !decimal.MatchString(s) {
			c.fail(le.Position(), "cannot compare %s, a number, with %s: write a number such as 443", fe, le)
		}
		return f.x, numLit{s}
	case f.t == vStr && lit.t == vNum && equality:
		return f.x, strLit{lit.x.(numLit).text}
	case (f.t == vStr || f.t == vDyn) && lit.t == vNum:
		return cast{x: f.x, to: typeDouble, try: true}, lit.x
	case f.t == vDyn && lit.t == vStr:
		return f.x, lit.x
	case f.t == vTime && lit.t == vStr:
		s := lit.x.(strLit).s
		t, ok := parseTime(s)
		if !ok {
			c.fail(le.Position(), "cannot compare the timestamp %s with %s: write a time such as \"2024-03-01T12:00:00Z\"", fe, le)
		}
		if secs, ok := epochSeconds(f.x); ok && t.Nanosecond() == 0 {
			// Compare the record's seconds, which engines can prune on.
			return secs, num(t.Unix())
		}
		return f.x, cast{x: strLit{t.UTC().Format("2006-01-02 15:04:05.999999999+00")}, to: typeTimestamp}
	case f.t == vTime && lit.t == vNum:
		// CloudWatch compares @timestamp with epoch milliseconds.
		ms := lit.x.(numLit).text
		if secs, ok := epochSeconds(f.x); ok && strings.HasSuffix(ms, "000") && isInt(ms) && len(ms) > 3 {
			return secs, numLit{ms[:len(ms)-3]}
		}
		return f.x, fcall(fnToTimestamp, binOp{"/", lit.x, num(1000)})
	case f.t == vBool && lit.t == vNum:
		switch lit.x.(numLit).text {
		case "0":
			return f.x, boolLit{false}
		case "1":
			return f.x, boolLit{true}
		}
	}
	c.fail(insights.Pos{Start: fe.Position().Start, End: le.Position().End},
		"cannot compare %s (%s) with %s (%s)", fe, f.t, le, lit.t)
	return nil, nil
}

// epochSeconds returns s when x is to_timestamp(s), as @timestamp is.
func epochSeconds(x sqlExpr) (sqlExpr, bool) {
	if c, ok := x.(call); ok && c.fn == fnToTimestamp && len(c.args) == 1 {
		return c.args[0], true
	}
	return nil, false
}

func parseTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func (c *compiler) regex(r *insights.RegexLit) sqlExpr {
	if _, err := compileRegex(r.Pattern); err != nil {
		c.fail(r.Pos, "invalid regular expression: %v", err)
	}
	return strLit{c.text(toRE2(r.Pattern), r.Pos, "regular expression")}
}
