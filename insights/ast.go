package insights

// Node is any part of a parsed query.
type Node interface {
	// Position is the byte range of the node in the query text.
	Position() Pos
	// String is the canonical text of the node; it parses back to an equal node.
	String() string
}

// Query is a parsed Logs Insights query: commands separated by "|".
type Query struct {
	Commands []Command
	// Text is the query as written, for error positions.
	Text string
}

// Command is one command of a query.
type Command interface {
	Node
	// Name is the command keyword as canonically written ("filter", "stats", ...).
	Name() string
	command()
}

// Expr is an expression.
type Expr interface {
	Node
	expr()
}

// Projection is an expression with an optional "as" alias, used by fields and
// stats.
type Projection struct {
	X     Expr
	Alias string // "" when there is no alias
	Pos   Pos
}

// FieldsCmd is "fields expr [as name], ...": it chooses the columns shown and
// may define new fields.
type FieldsCmd struct {
	Items []*Projection
	Pos   Pos
}

// DisplayCmd is "display field, ...": the columns shown in the results; the
// last display command wins.
type DisplayCmd struct {
	Fields []*FieldRef
	Pos    Pos
}

// FilterCmd is "filter expr" (or "where expr").
type FilterCmd struct {
	X Expr
	// Where records that the query spelled the command "where".
	Where bool
	Pos   Pos
}

// StatsCmd is "stats agg [as name], ... [by expr [as name], ...]".
type StatsCmd struct {
	Aggs []*Projection
	By   []*Projection
	Pos  Pos
}

// Order is the direction of a sort key.
type Order int

// Sort directions. OrderDefault is ascending, but is kept apart so the printer
// gives back what was written.
const (
	OrderDefault Order = iota
	OrderAsc
	OrderDesc
)

// SortKey is one key of a sort command.
type SortKey struct {
	X     Expr
	Order Order
	Pos   Pos
}

// SortCmd is "sort expr [asc|desc], ...".
type SortCmd struct {
	Keys []*SortKey
	Pos  Pos
}

// LimitCmd is "limit N".
type LimitCmd struct {
	N   int64
	Pos Pos
}

// ParseCmd is `parse [field] "glob * pattern" as a, b` or
// `parse [field] /regex with (?<name>...) groups/`.
type ParseCmd struct {
	// Field is the field parsed; nil means @message.
	Field *FieldRef
	// Pattern is the glob text, or the regular expression between the slashes
	// as written.
	Pattern string
	Regex   bool
	// Names are the fields defined: the "as" list of a glob, or the named
	// groups of a regular expression in order.
	Names []string
	Pos   Pos
}

// DedupCmd is "dedup field, ...".
type DedupCmd struct {
	Fields []*FieldRef
	Pos    Pos
}

// FieldRef is a field name: bare, backquoted, or an @ field such as
// @timestamp.
type FieldRef struct {
	Name string
	Pos  Pos
}

// StringLit is a string literal; Value is the decoded text.
type StringLit struct {
	Value string
	Pos   Pos
}

// NumberLit is a number literal as written (digits, optionally a fraction).
type NumberLit struct {
	Text string
	Pos  Pos
}

// DurationLit is a time period such as 5m, only allowed where a function
// expects a period (bin, datefloor, dateceil).
type DurationLit struct {
	N int64
	// Unit is one of ms, s, m, h, d, w, mo, q, y.
	Unit string
	Pos  Pos
}

// RegexLit is a regular expression /.../; Pattern is the text between the
// slashes as written.
type RegexLit struct {
	Pattern string
	Pos     Pos
}

// StarExpr is the * of count(*).
type StarExpr struct {
	Pos Pos
}

// ListExpr is a list [a, b, ...], the right side of in and not in.
type ListExpr struct {
	Elems []Expr
	Pos   Pos
}

// CallExpr is a function call. Name is as written; LookupFunction(Name)
// finds its table entry.
type CallExpr struct {
	Name string
	Args []Expr
	Pos  Pos
}

// UnaryExpr is "-x" or "not x"; Op is "-" or "not".
type UnaryExpr struct {
	Op  string
	X   Expr
	Pos Pos
}

// BinaryExpr is "x op y". Op is one of or, and, =, !=, <, <=, >, >=, like,
// not like, =~, in, not in, +, -, *, /, %, ^.
type BinaryExpr struct {
	Op  string
	X   Expr
	Y   Expr
	Pos Pos
}

func (c *FieldsCmd) Position() Pos  { return c.Pos }
func (c *DisplayCmd) Position() Pos { return c.Pos }
func (c *FilterCmd) Position() Pos  { return c.Pos }
func (c *StatsCmd) Position() Pos   { return c.Pos }
func (c *SortCmd) Position() Pos    { return c.Pos }
func (c *LimitCmd) Position() Pos   { return c.Pos }
func (c *ParseCmd) Position() Pos   { return c.Pos }
func (c *DedupCmd) Position() Pos   { return c.Pos }
func (p *Projection) Position() Pos { return p.Pos }
func (k *SortKey) Position() Pos    { return k.Pos }

func (*FieldsCmd) Name() string  { return "fields" }
func (*DisplayCmd) Name() string { return "display" }
func (c *FilterCmd) Name() string {
	if c.Where {
		return "where"
	}
	return "filter"
}
func (*StatsCmd) Name() string { return "stats" }
func (*SortCmd) Name() string  { return "sort" }
func (*LimitCmd) Name() string { return "limit" }
func (*ParseCmd) Name() string { return "parse" }
func (*DedupCmd) Name() string { return "dedup" }

func (*FieldsCmd) command()  {}
func (*DisplayCmd) command() {}
func (*FilterCmd) command()  {}
func (*StatsCmd) command()   {}
func (*SortCmd) command()    {}
func (*LimitCmd) command()   {}
func (*ParseCmd) command()   {}
func (*DedupCmd) command()   {}

func (e *FieldRef) Position() Pos    { return e.Pos }
func (e *StringLit) Position() Pos   { return e.Pos }
func (e *NumberLit) Position() Pos   { return e.Pos }
func (e *DurationLit) Position() Pos { return e.Pos }
func (e *RegexLit) Position() Pos    { return e.Pos }
func (e *StarExpr) Position() Pos    { return e.Pos }
func (e *ListExpr) Position() Pos    { return e.Pos }
func (e *CallExpr) Position() Pos    { return e.Pos }
func (e *UnaryExpr) Position() Pos   { return e.Pos }
func (e *BinaryExpr) Position() Pos  { return e.Pos }

func (*FieldRef) expr()    {}
func (*StringLit) expr()   {}
func (*NumberLit) expr()   {}
func (*DurationLit) expr() {}
func (*RegexLit) expr()    {}
func (*StarExpr) expr()    {}
func (*ListExpr) expr()    {}
func (*CallExpr) expr()    {}
func (*UnaryExpr) expr()   {}
func (*BinaryExpr) expr()  {}

// Seconds is the length of the period in seconds, and false for calendar
// units (mo, q, y) whose length varies.
func (d *DurationLit) Seconds() (int64, bool) {
	var s int64
	switch d.Unit {
	case "ms":
		if d.N%1000 != 0 {
			return 0, false
		}
		return d.N / 1000, true
	case "s":
		s = 1
	case "m":
		s = 60
	case "h":
		s = 3600
	case "d":
		s = 86400
	case "w":
		s = 7 * 86400
	default:
		return 0, false
	}
	if d.N > (1<<62)/s {
		return 0, false
	}
	return d.N * s, true
}

// Walk calls fn for e and every expression below it, parents first; when fn
// returns false the children of that node are skipped.
func Walk(e Expr, fn func(Expr) bool) {
	if e == nil || !fn(e) {
		return
	}
	switch e := e.(type) {
	case *ListExpr:
		for _, x := range e.Elems {
			Walk(x, fn)
		}
	case *CallExpr:
		for _, x := range e.Args {
			Walk(x, fn)
		}
	case *UnaryExpr:
		Walk(e.X, fn)
	case *BinaryExpr:
		Walk(e.X, fn)
		Walk(e.Y, fn)
	}
}

// HasAggregate reports whether e calls an aggregate function.
func HasAggregate(e Expr) bool {
	found := false
	Walk(e, func(x Expr) bool {
		if c, ok := x.(*CallExpr); ok {
			if f, ok := LookupFunction(c.Name); ok && f.Kind == Aggregate {
				found = true
			}
		}
		return !found
	})
	return found
}
