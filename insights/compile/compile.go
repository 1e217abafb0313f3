package compile

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/flowlens/flowlens/insights"
)

// DefaultLimit is the number of rows a query without stats and without limit
// returns, as in CloudWatch Logs Insights.
const DefaultLimit = 10000

var errNoStart = errors.New("a time range needs a start column, which the schema does not have")

// Options tune a compilation.
type Options struct {
	// Table is the view or table queried; "" means "vpc_flow_logs".
	Table string
	// From and To restrict records to From <= start < To (Unix seconds of
	// the record start). A zero time leaves that side open. The range also
	// becomes predicates on the year, month and day partition columns when
	// the schema has them, so engines can skip partitions.
	From, To time.Time
	// DefaultLimit caps the rows of queries that have neither stats nor a
	// limit command: 0 means DefaultLimit (10000), a negative value means no cap.
	DefaultLimit int
}

// Compile translates q into one SQL SELECT statement for dialect d, with
// field names resolved through s. Errors about the query are *insights.Error
// values with positions; untranslatable constructs wrap
// insights.ErrUnsupported.
func Compile(q *insights.Query, s Schema, d Dialect, opts Options) (sql string, err error) {
	if q == nil || len(q.Commands) == 0 {
		return "", errors.New("compile query: the query has no commands")
	}
	if s == nil || d == nil {
		return "", errors.New("compile query: a schema and a dialect are required")
	}
	if opts.Table == "" {
		opts.Table = "vpc_flow_logs"
	}
	if opts.DefaultLimit == 0 {
		opts.DefaultLimit = DefaultLimit
	}
	if !opts.From.IsZero() && !opts.To.IsZero() && !opts.From.Before(opts.To) {
		return "", fmt.Errorf("compile query: empty time range: from %s is not before to %s",
			opts.From.UTC().Format(time.RFC3339), opts.To.UTC().Format(time.RFC3339))
	}
	c := &compiler{q: q, src: q.Text, schema: s, d: d, opts: opts}
	defer func() {
		if r := recover(); r != nil {
			if r == errNoStart {
				sql, err = "", fmt.Errorf("compile query: %w", errNoStart)
				return
			}
			e, ok := r.(*insights.Error)
			if !ok {
				panic(r)
			}
			sql, err = "", e
		}
	}()
	stmt := c.run()
	return render(d, stmt)
}

// binding is a field defined by fields ... as, parse or stats, or a column
// that fields named. expr is valid over the current level's FROM.
type binding struct {
	name   string
	expr   sqlExpr
	typ    vtype
	column string // the schema column it holds unchanged, if any
	dash   bool   // a field of the view whose null stands for "-"
}

// level is one SELECT being built. Commands add to it until one needs the
// result of the previous ones (a filter after limit, anything after stats);
// then the level is closed and becomes the FROM of a new one.
type level struct {
	sel     *selectStmt
	input   []string // the columns of the FROM
	raw     bool     // the record columns are visible (no stats yet)
	defs    []*binding
	limited bool // has LIMIT or QUALIFY: later filters need a new level
	ordered bool // ORDER BY came from a sort command
	// timeOrder is the order of a stats level that groups by time (bin(),
	// datefloor(@timestamp, …)) when no sort is given: the times newest
	// first, then its other keys, so that the rows come in one order.
	timeOrder []orderItem
}

type compiler struct {
	q      *insights.Query
	src    string
	schema Schema
	d      Dialect
	opts   Options
	lv     *level
	nsub   int

	shown    []string             // names shown, from fields (stats resets it)
	display  []*insights.FieldRef // the last display command
	stats    *statsScope          // set while compiling a stats expression
	sawStats bool
	sawLimit bool

	dashLeaves int // comparisons compiled with their answer for "-" (dash.go)
}

func (c *compiler) fail(pos insights.Pos, format string, args ...any) {
	panic(insights.Errorf(c.src, pos, format, args...))
}

func (c *compiler) unsupported(pos insights.Pos, format string, args ...any) {
	panic(insights.Unsupportedf(c.src, pos, format, args...))
}

// text checks user text that will be quoted into the SQL.
func (c *compiler) text(s string, pos insights.Pos, what string) string {
	if err := checkText(s); err != nil {
		c.fail(pos, "%s %s", what, err)
	}
	return s
}

func (c *compiler) run() *selectStmt {
	c.lv = &level{
		sel:   &selectStmt{table: c.opts.Table},
		input: c.schema.Columns(),
		raw:   true,
	}
	c.lv.sel.where = c.timeRange()
	for _, cmd := range c.q.Commands {
		switch cmd := cmd.(type) {
		case *insights.FieldsCmd:
			c.fieldsCmd(cmd)
		case *insights.DisplayCmd:
			c.display = cmd.Fields
		case *insights.FilterCmd:
			c.filterCmd(cmd)
		case *insights.StatsCmd:
			c.statsCmd(cmd)
		case *insights.SortCmd:
			c.sortCmd(cmd)
		case *insights.LimitCmd:
			c.limitCmd(cmd)
		case *insights.ParseCmd:
			c.parseCmd(cmd)
		case *insights.DedupCmd:
			c.dedupCmd(cmd)
		default:
			c.unsupported(cmd.Position(), "the %s command is not supported", cmd.Name())
		}
	}
	return c.finish()
}

// timeRange gives the WHERE predicates of Options.From and To.
func (c *compiler) timeRange() []sqlExpr {
	from, to := c.opts.From, c.opts.To
	if from.IsZero() && to.IsZero() {
		return nil
	}
	startCol, _, ok := c.schema.Resolve("start")
	if !ok {
		panic(errNoStart)
	}
	var out []sqlExpr
	var lo, hi time.Time
	if !from.IsZero() {
		sec := ceilUnix(from)
		out = append(out, binOp{">=", colRef{startCol}, num(sec)})
		lo = time.Unix(sec, 0).UTC()
	}
	if !to.IsZero() {
		sec := ceilUnix(to)
		out = append(out, binOp{"<", colRef{startCol}, num(sec)})
		hi = time.Unix(sec-1, 0).UTC() // the last second in the range
	}
	// Partition predicates only prune: they never exclude a record that the
	// start predicates keep.
	part := func(name, lo, hi string) sqlExpr {
		col, _, ok := c.schema.Resolve(name)
		if !ok {
			return nil
		}
		switch {
		case lo != "" && lo == hi:
			return binOp{"=", colRef{col}, strLit{lo}}
		case lo != "" && hi != "":
			return and(binOp{">=", colRef{col}, strLit{lo}}, binOp{"<=", colRef{col}, strLit{hi}})
		case lo != "":
			return binOp{">=", colRef{col}, strLit{lo}}
		}
		return binOp{"<=", colRef{col}, strLit{hi}}
	}
	f := func(t time.Time, layout string) string {
		if t.IsZero() {
			return ""
		}
		return t.Format(layout)
	}
	preds := []sqlExpr{part("year", f(lo, "2006"), f(hi, "2006"))}
	if !lo.IsZero() && !hi.IsZero() && lo.Year() == hi.Year() {
		preds = append(preds, part("month", lo.Format("01"), hi.Format("01")))
		if lo.Month() == hi.Month() {
			preds = append(preds, part("day", lo.Format("02"), hi.Format("02")))
		}
	}
	for _, p := range preds {
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}

func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// closeLevel ends the current SELECT: it outputs every column of its FROM
// plus the fields defined in it, and a new level reads from it.
func (c *compiler) closeLevel() {
	old := c.lv
	var except, added []string
	var items []selectItem
	newDefs := make([]*binding, 0, len(old.defs))
	for _, b := range old.defs {
		if r, ok := b.expr.(colRef); ok && hasName(old.input, r.name) && !hasName(except, r.name) {
			newDefs = append(newDefs, b) // a column that passes through
			continue
		}
		for _, in := range old.input {
			if strings.EqualFold(in, b.name) {
				except = append(except, in)
			}
		}
		items = append(items, selectItem{x: b.expr, alias: b.name})
		added = append(added, b.name)
		newDefs = append(newDefs, &binding{name: b.name, expr: colRef{b.name}, typ: b.typ, column: b.column, dash: b.dash})
	}
	// The order of the closed level lasts into the new one, as a sort lasts
	// through the commands after it in CloudWatch: a key over columns that
	// pass through unchanged is kept as it is, any other is carried in a
	// hidden column.
	var order []orderItem
	for i, o := range old.sel.orderBy {
		if !refersTo(o.x, except) {
			order = append(order, o)
			continue
		}
		name := hiddenPrefix + strconv.Itoa(c.nsub+1) + "_" + strconv.Itoa(i+1)
		items = append(items, selectItem{x: o.x, alias: name})
		added = append(added, name)
		order = append(order, orderItem{x: colRef{name}, desc: o.desc})
	}
	old.sel.items = append([]selectItem{{star: true, except: except}}, items...)
	var input []string
	for _, in := range old.input {
		if !hasName(except, in) {
			input = append(input, in)
		}
	}
	c.nsub++
	// The time order lasts while every column it reads does.
	timeOrder := old.timeOrder
	for _, o := range old.timeOrder {
		if anyColumn(o.x, func(n string) bool { return !hasName(input, n) }) {
			timeOrder = nil
		}
	}
	c.lv = &level{
		sel:       &selectStmt{sub: old.sel, subAlias: "q" + strconv.Itoa(c.nsub), orderBy: order},
		input:     append(input, added...),
		raw:       old.raw,
		defs:      newDefs,
		ordered:   old.ordered,
		timeOrder: timeOrder,
	}
}

// hiddenPrefix starts the names of the columns that carry a sort order out
// of a nested SELECT; results never show them.
const hiddenPrefix = "__flowlens_order_"

func isHidden(name string) bool { return strings.HasPrefix(name, hiddenPrefix) }

// refersTo reports whether x reads one of the columns names.
func refersTo(x sqlExpr, names []string) bool {
	return anyColumn(x, func(n string) bool { return hasName(names, n) })
}

func hasName(list []string, name string) bool {
	for _, n := range list {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// define adds or replaces a field of the current level. Names are matched
// ignoring case, because SQL engines such as DuckDB match them so.
func (c *compiler) define(b *binding) {
	for i, d := range c.lv.defs {
		if strings.EqualFold(d.name, b.name) {
			c.lv.defs[i] = b
			return
		}
	}
	c.lv.defs = append(c.lv.defs, b)
}

func (c *compiler) show(name string) {
	for i, n := range c.shown {
		if strings.EqualFold(n, name) {
			c.shown[i] = name
			return
		}
	}
	c.shown = append(c.shown, name)
}

func (c *compiler) fieldsCmd(cmd *insights.FieldsCmd) {
	if c.lv.limited {
		c.closeLevel()
	}
	var defs []*binding
	for _, it := range cmd.Items {
		v := c.expr(it.X)
		name := it.Alias
		if name == "" {
			if f, ok := it.X.(*insights.FieldRef); ok {
				name = f.Name
			} else {
				name = it.X.String()
			}
		}
		defs = append(defs, &binding{name: c.text(name, it.Pos, "field name"), expr: v.x, typ: v.t, column: v.column, dash: v.dash})
	}
	// All items see the fields as they were before the command.
	for _, b := range defs {
		c.define(b)
		c.show(b.name)
	}
}

func (c *compiler) filterCmd(cmd *insights.FilterCmd) {
	if c.lv.limited {
		c.closeLevel()
	}
	c.lv.sel.where = append(c.lv.sel.where, c.cond(cmd.X))
}

func (c *compiler) sortCmd(cmd *insights.SortCmd) {
	if c.lv.limited {
		c.closeLevel()
	}
	var order []orderItem
	for _, k := range cmd.Keys {
		v := c.expr(k.X)
		if !hasColumn(v.x) {
			continue // a constant orders nothing, and SQL would read a number as a column position
		}
		v.x = c.showDash(v) // "-" sorts as the text it is in CloudWatch
		if secs, ok := epochSeconds(v.x); ok {
			v.x = secs // @timestamp sorts as the record's seconds
		}
		desc := k.Order == insights.OrderDesc
		if v.t == vStr || v.t == vDyn {
			for _, x := range naturalOrder(v.x) {
				order = append(order, orderItem{x: x, desc: desc})
			}
			continue
		}
		order = append(order, orderItem{x: v.x, desc: desc})
	}
	c.lv.sel.orderBy = order
	c.lv.ordered = true
}

// naturalOrder gives the ORDER BY keys that sort text x in CloudWatch's
// documented "updated natural sort": every value that is not only digits
// comes first, ordered chunk by chunk (runs of digits by length, then value;
// other characters by Unicode code point); then the values that are only
// digits, by numeric value. The text itself breaks ties ("01" before "1").
// Null stays last, as for other keys.
func naturalOrder(x sqlExpr) []sqlExpr {
	isNum := and(binOp{"<>", x, strLit{""}}, binOp{"=", fcall(fnLTrim, x, strLit{"0123456789"}), strLit{""}})
	digits := fcall(fnLTrim, x, strLit{"0"})
	numKey := binOp{"||", fcall(fnLPad, cast{x: fcall(fnLength, digits), to: typeVarchar}, num(10), strLit{"0"}), digits}
	return []sqlExpr{isNum, caseWhen{when: isNum, then: numKey, els: fcall(fnNaturalKey, x)}, x}
}

// defaultOrder is CloudWatch's order when no sort was given: newest first,
// for records and for the time bins of stats.
func (c *compiler) defaultOrder() {
	if c.lv.ordered || len(c.lv.sel.orderBy) > 0 {
		return
	}
	if !c.lv.raw {
		c.lv.sel.orderBy = c.lv.timeOrder
		return
	}
	if col, _, ok := c.schema.Resolve("start"); ok {
		c.lv.sel.orderBy = []orderItem{{x: colRef{col}, desc: true}}
	}
}

func (c *compiler) limitCmd(cmd *insights.LimitCmd) {
	c.sawLimit = true
	c.defaultOrder()
	if c.lv.sel.limit == 0 || cmd.N < c.lv.sel.limit {
		c.lv.sel.limit = cmd.N
	}
	c.lv.limited = true
}

// dedupCmd keeps the first row of each key in the current order; rows with
// a null key are all kept, as in CloudWatch.
func (c *compiler) dedupCmd(cmd *insights.DedupCmd) {
	if c.lv.limited {
		c.closeLevel()
	}
	c.defaultOrder()
	var keys []sqlExpr
	var anyNull sqlExpr
	for _, f := range cmd.Fields {
		v := c.expr(f)
		if v.dash && v.t == vStr {
			// "-" is a value like any other: records showing it are
			// deduplicated, not kept as missing ones are.
			keys = append(keys, c.showDash(v))
			continue
		}
		if hasColumn(v.x) {
			keys = append(keys, v.x)
		}
		n := isNull{x: v.x}
		if anyNull == nil {
			anyNull = n
		} else {
			anyNull = binOp{"OR", anyNull, n}
		}
	}
	var first sqlExpr = binOp{"=", rowNumber{partition: keys, order: c.lv.sel.orderBy}, num(1)}
	if anyNull != nil {
		first = binOp{"OR", anyNull, first}
	}
	c.lv.sel.qualify = first
	c.lv.limited = true
}

// statsScope is the by clause of the stats command being compiled: fields
// used outside an aggregate must be one of its keys.
type statsScope struct {
	keys  []sqlExpr
	inAgg bool
}

func (c *compiler) statsCmd(cmd *insights.StatsCmd) {
	if c.lv.limited {
		c.closeLevel()
	}
	type out struct {
		name   string
		v      value
		pos    insights.Pos
		column string
	}
	var outs []out
	scope := &statsScope{}
	for _, by := range cmd.By {
		v := c.expr(by.X)
		name := by.Alias
		if f, ok := by.X.(*insights.FieldRef); ok && name == "" {
			name = f.Name // as written, without the backquotes
		}
		if name == "" {
			name = by.X.String()
		}
		scope.keys = append(scope.keys, v.x)
		outs = append(outs, out{name: name, v: v, pos: by.Pos, column: v.column})
	}
	nkeys := len(outs)
	for _, agg := range cmd.Aggs {
		c.stats = scope
		v := c.expr(agg.X)
		c.stats = nil
		name := agg.Alias
		if name == "" {
			name = agg.X.String()
		}
		outs = append(outs, out{name: name, v: v, pos: agg.Pos})
	}
	sel := c.lv.sel
	sel.items = nil
	sel.orderBy = nil // an order before stats does not survive it
	for i, o := range outs {
		for _, p := range outs[:i] {
			if strings.EqualFold(p.name, o.name) {
				c.fail(o.pos, "stats gives two results named %q: name one with as", o.name)
			}
		}
		c.text(o.name, o.pos, "field name")
		// A text field of the view groups on its column, which engines
		// do fastest, and shows "-" for null.
		item := selectItem{x: c.showDash(o.v), alias: o.name}
		if r, ok := item.x.(colRef); ok && r.name == o.name {
			item.alias = ""
		}
		sel.items = append(sel.items, item)
		if i < nkeys && hasColumn(o.v.x) {
			// Constants group nothing, and SQL would read a number as a
			// column position.
			sel.groupBy = append(sel.groupBy, o.v.x)
		}
	}
	c.nsub++
	nl := &level{sel: &selectStmt{sub: sel, subAlias: "q" + strconv.Itoa(c.nsub)}}
	c.shown = nil
	c.display = nil
	var others []orderItem
	for i, o := range outs {
		if i < nkeys && hasColumn(o.v.x) {
			switch o.v.t {
			case vTime:
				nl.timeOrder = append(nl.timeOrder, orderItem{x: colRef{o.name}, desc: true})
			case vStr, vDyn:
				for _, x := range naturalOrder(colRef{o.name}) {
					others = append(others, orderItem{x: x})
				}
			default:
				others = append(others, orderItem{x: colRef{o.name}})
			}
		}
		nl.input = append(nl.input, o.name)
		nl.defs = append(nl.defs, &binding{name: o.name, expr: colRef{o.name}, typ: o.v.t, column: o.column})
		c.shown = append(c.shown, o.name)
	}
	if nl.timeOrder != nil {
		nl.timeOrder = append(nl.timeOrder, others...)
	}
	c.lv = nl
	c.sawStats = true
}

func (c *compiler) parseCmd(cmd *insights.ParseCmd) {
	if c.lv.limited {
		c.closeLevel()
	}
	field := cmd.Field
	if field == nil {
		field = &insights.FieldRef{Name: "@message", Pos: cmd.Pos}
	}
	src := c.textOf(c.expr(field))
	var re string
	var groups []int
	if cmd.Regex {
		r, err := compileRegex(cmd.Pattern)
		if err != nil {
			c.fail(cmd.Pos, "invalid regular expression: %v", err)
		}
		re = toRE2(cmd.Pattern)
		for _, name := range cmd.Names {
			groups = append(groups, r.SubexpIndex(name))
		}
	} else {
		re = globRegex(cmd.Pattern)
		for i := range cmd.Names {
			groups = append(groups, i+1)
		}
	}
	c.text(re, cmd.Pos, "parse pattern")
	matches := fcall(fnRegexpMatch, src, strLit{re})
	for i, name := range cmd.Names {
		x := caseWhen{when: matches, then: fcall(fnRegexpExtract, src, strLit{re}, num(int64(groups[i])))}
		c.define(&binding{name: c.text(name, cmd.Pos, "field name"), expr: x, typ: vDyn})
	}
}

// finish projects the shown fields in the last level.
func (c *compiler) finish() *selectStmt {
	lv := c.lv
	if !c.sawStats && !c.sawLimit && c.opts.DefaultLimit > 0 {
		c.defaultOrder()
		lv.sel.limit = int64(c.opts.DefaultLimit)
	}
	if !lv.raw {
		c.defaultOrder() // time bins, newest first
	}
	var refs []*insights.FieldRef
	switch {
	case c.display != nil:
		refs = c.display
	case len(c.shown) > 0:
		for _, n := range c.shown {
			refs = append(refs, &insights.FieldRef{Name: n})
		}
	}
	if refs == nil {
		// No fields, display or stats: every column, plus what parse defined.
		items := []selectItem{{star: true}}
		for _, in := range lv.input {
			if isHidden(in) {
				items[0].except = append(items[0].except, in)
			}
		}
		if lv.raw {
			for _, in := range lv.input {
				if col, typ, ok := c.schema.Resolve(in); ok && col == in && !hasName(items[0].except, in) {
					v := value{x: colRef{in}, t: schemaType(typ), dash: dashColumn(in)}
					if x := c.showDash(v); !reflect.DeepEqual(x, v.x) {
						items[0].replace = append(items[0].replace, selectItem{x: x, alias: in})
					}
				}
			}
		}
		for _, b := range lv.defs {
			if r, ok := b.expr.(colRef); ok && hasName(lv.input, r.name) {
				continue
			}
			for _, in := range lv.input {
				if strings.EqualFold(in, b.name) {
					items[0].except = append(items[0].except, in)
				}
			}
			items = append(items, selectItem{x: c.showDash(value{x: b.expr, t: b.typ, dash: b.dash}), alias: b.name})
		}
		lv.sel.items = items
		return lv.sel
	}
	var items []selectItem
	var names []string
	for _, f := range refs {
		v := c.expr(f)
		name := c.text(f.Name, f.Pos, "field name")
		if hasName(names, name) {
			continue
		}
		names = append(names, name)
		item := selectItem{x: c.showDash(v), alias: name}
		if r, ok := item.x.(colRef); ok && r.name == name {
			item.alias = ""
		}
		items = append(items, item)
	}
	lv.sel.items = items
	return lv.sel
}

// pctFraction turns a percentile literal into the fraction quantile takes.
func pctFraction(text string) string {
	v, _ := strconv.ParseFloat(text, 64)
	return strconv.FormatFloat(math.Round(v*1e9)/1e11, 'g', -1, 64)
}
