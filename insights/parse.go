package insights

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/flowlens/flowlens/internal/spell"
)

// Parse parses a Logs Insights query. Errors are *Error values with the byte
// range of the problem and a message that says what was expected.
func Parse(query string) (q *Query, err error) {
	p := &parser{lx: lexer{src: query}, src: query}
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(*Error)
			if !ok {
				panic(r)
			}
			q, err = nil, e
		}
	}()
	p.advance()
	return p.query(), nil
}

// keywords cannot be bare field names; write them in backquotes instead.
var keywords = map[string]bool{
	"and": true, "or": true, "not": true, "like": true, "in": true,
	"as": true, "by": true, "asc": true, "desc": true,
}

// IsKeyword reports whether name is reserved in expressions and must be
// backquoted to be used as a field name.
func IsKeyword(name string) bool { return keywords[strings.ToLower(name)] }

// Commands lists the commands of the language, as completion offers them.
var Commands = []string{"fields", "display", "filter", "where", "stats", "sort", "limit", "parse", "dedup"}

// unsupportedCommands are Logs Insights commands that flowlens does not run.
var unsupportedCommands = map[string]string{
	"unnest":      "flow-log records have no arrays to flatten",
	"lookup":      "there are no lookup tables",
	"join":        "there is one table of flow logs",
	"anomaly":     "it relies on CloudWatch's machine-learning models",
	"pattern":     "it relies on CloudWatch's machine-learning models",
	"diff":        "compare two --from/--to runs instead",
	"unmask":      "flow logs carry no masked data",
	"filterindex": "there are no CloudWatch field indexes",
	"source":      "choose the data with --from/--to",
}

// unsupportedFunctions are Logs Insights functions that flowlens does not run.
var unsupportedFunctions = map[string]string{
	"jsonparse":     "flow-log records are not JSON",
	"jsonstringify": "flow-log records are not JSON",
	"unmask":        "flow logs carry no masked data, so the field itself is the whole content: write it without unmask",
}

type exprCtx struct {
	aggOK bool   // an aggregate may start here (a stats expression)
	inAgg string // the aggregate being parsed, if any
	where string // the command or clause, for messages
}

type parser struct {
	lx      lexer
	src     string
	tok     token
	prevEnd int
	ctx     exprCtx
}

func (p *parser) fail(pos Pos, format string, args ...any) {
	panic(Errorf(p.src, pos, format, args...))
}

func (p *parser) advance() {
	p.prevEnd = p.tok.pos.End
	t, err := p.lx.next()
	if err != nil {
		panic(err)
	}
	p.tok = t
}

// peek returns the token after the current one without consuming anything.
func (p *parser) peek() token {
	save := p.lx.off
	t, err := p.lx.next()
	p.lx.off = save
	if err != nil {
		return token{kind: tEOF}
	}
	return t
}

func (p *parser) isWord(w string) bool {
	return p.tok.kind == tIdent && strings.EqualFold(p.tok.val, w)
}

// describe names a token for "found ..." in messages.
func (p *parser) describe(t token) string {
	text := p.src[t.pos.Start:t.pos.End]
	if len(text) > 40 {
		text = text[:37] + "..."
	}
	switch t.kind {
	case tEOF:
		return "end of query"
	case tString:
		return "string " + text
	case tNumber:
		return "number " + text
	case tDuration:
		return "period " + text
	case tRegex:
		return "regular expression " + text
	}
	return strconv.Quote(text)
}

func (p *parser) expected(what string) {
	p.fail(p.tok.pos, "expected %s, found %s", what, p.describe(p.tok))
}

func (p *parser) query() *Query {
	q := &Query{Text: p.src}
	if p.tok.kind == tEOF {
		p.fail(p.tok.pos, "empty query: start with a command such as fields, filter or stats")
	}
	for {
		if len(q.Commands) > 0 {
			if _, ok := q.Commands[len(q.Commands)-1].(*DedupCmd); ok && !p.isWord("limit") {
				p.fail(p.tok.pos, "only limit can follow dedup, found %s", p.describe(p.tok))
			}
		}
		q.Commands = append(q.Commands, p.command())
		switch p.tok.kind {
		case tEOF:
			return q
		case tPipe:
			p.advance()
			if p.tok.kind == tEOF {
				p.expected(`a command after "|"`)
			}
		default:
			p.expected(`"|" or end of query`)
		}
	}
}

func (p *parser) command() Command {
	if p.tok.kind != tIdent {
		p.expected("a command such as fields, filter or stats")
	}
	name := strings.ToLower(p.tok.val)
	start := p.tok.pos.Start
	switch name {
	case "fields":
		p.advance()
		return p.fieldsCmd(start)
	case "display":
		p.advance()
		c := &DisplayCmd{Fields: p.fieldList("display")}
		c.Pos = Pos{start, p.prevEnd}
		return c
	case "filter", "where":
		p.advance()
		p.ctx = exprCtx{where: name}
		c := &FilterCmd{X: p.expr(), Where: name == "where"}
		c.Pos = Pos{start, p.prevEnd}
		p.endCommand(`"and", "or" or "|" after ` + name + ` expression`)
		return c
	case "stats":
		p.advance()
		return p.statsCmd(start)
	case "sort":
		p.advance()
		return p.sortCmd(start)
	case "limit":
		p.advance()
		return p.limitCmd(start)
	case "parse":
		p.advance()
		return p.parseCmd(start)
	case "dedup":
		p.advance()
		c := &DedupCmd{Fields: p.fieldList("dedup")}
		c.Pos = Pos{start, p.prevEnd}
		return c
	}
	if why, ok := unsupportedCommands[name]; ok {
		panic(Unsupportedf(p.src, p.tok.pos, "the %s command is not supported: %s", p.tok.val, why))
	}
	if name == "head" || name == "tail" {
		// Deprecated by CloudWatch in favour of limit.
		n := "10"
		if nx := p.peek(); nx.kind == tNumber {
			n = nx.val
		}
		why := "CloudWatch replaced it with limit, as in limit " + n
		if name == "tail" {
			why = "CloudWatch replaced it with limit; for the oldest records write sort @timestamp asc | limit " + n
		}
		panic(Unsupportedf(p.src, p.tok.pos, "the %s command is not supported: %s", p.tok.val, why))
	}
	msg := fmt.Sprintf("unknown command %q", p.tok.val)
	if s := suggest(p.tok.val, Commands); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	} else if suggest(p.tok.val, []string{"select"}) != "" {
		// A mistyped SQL query is told from the first word as Insights.
		msg += "; did you mean SELECT, to write SQL?"
	} else {
		msg += "; commands are " + strings.Join(Commands, ", ")
	}
	p.fail(p.tok.pos, "%s", msg)
	return nil
}

// endCommand checks that the command ends here.
func (p *parser) endCommand(expected string) {
	if p.tok.kind != tPipe && p.tok.kind != tEOF {
		p.expected(expected)
	}
}

func (p *parser) fieldsCmd(start int) *FieldsCmd {
	c := &FieldsCmd{}
	p.ctx = exprCtx{where: "fields"}
	for {
		it := p.projection()
		c.Items = append(c.Items, it)
		if p.tok.kind != tComma {
			break
		}
		p.advance()
	}
	c.Pos = Pos{start, p.prevEnd}
	if c.Items[len(c.Items)-1].Alias == "" {
		p.endCommand(`"as", "," or "|" after fields expression`)
	}
	p.endCommand(`"," or "|" after fields expression`)
	return c
}

func (p *parser) projection() *Projection {
	x := p.expr()
	it := &Projection{X: x, Pos: x.Position()}
	if p.isWord("as") {
		p.advance()
		it.Alias = p.name("as")
		it.Pos.End = p.prevEnd
	}
	return it
}

func (p *parser) statsCmd(start int) *StatsCmd {
	c := &StatsCmd{}
	for {
		p.ctx = exprCtx{aggOK: true, where: "stats"}
		it := p.projection()
		if !HasAggregate(it.X) {
			p.fail(it.X.Position(), "stats expression %s has no aggregate function: use one such as count(), sum(field) or avg(field)", it.X)
		}
		c.Aggs = append(c.Aggs, it)
		if p.tok.kind != tComma {
			break
		}
		p.advance()
	}
	if p.isWord("by") {
		p.advance()
		for {
			p.ctx = exprCtx{where: "a by clause"}
			c.By = append(c.By, p.projection())
			if p.tok.kind != tComma {
				break
			}
			p.advance()
		}
		c.Pos = Pos{start, p.prevEnd}
		if c.By[len(c.By)-1].Alias == "" {
			p.endCommand(`"as", "," or "|" after by expression`)
		}
		p.endCommand(`"," or "|" after by expression`)
		return c
	}
	c.Pos = Pos{start, p.prevEnd}
	if c.Aggs[len(c.Aggs)-1].Alias == "" {
		p.endCommand(`"as", "by" or "|" after stats expression`)
	}
	p.endCommand(`"by" or "|" after stats expression`)
	return c
}

func (p *parser) sortCmd(start int) *SortCmd {
	c := &SortCmd{}
	p.ctx = exprCtx{where: "sort"}
	for {
		x := p.expr()
		k := &SortKey{X: x, Pos: x.Position()}
		switch {
		case p.isWord("asc"):
			k.Order = OrderAsc
		case p.isWord("desc"):
			k.Order = OrderDesc
		}
		if k.Order != OrderDefault {
			p.advance()
			k.Pos.End = p.prevEnd
		}
		c.Keys = append(c.Keys, k)
		if p.tok.kind != tComma {
			break
		}
		p.advance()
	}
	c.Pos = Pos{start, p.prevEnd}
	if c.Keys[len(c.Keys)-1].Order == OrderDefault {
		p.endCommand(`"asc", "desc", "," or "|" after sort expression`)
	}
	p.endCommand(`"," or "|" after sort expression`)
	return c
}

func (p *parser) limitCmd(start int) *LimitCmd {
	if p.tok.kind != tNumber {
		p.expected("a number of rows after limit")
	}
	n, err := strconv.ParseInt(p.tok.val, 10, 64)
	if err != nil || n < 1 {
		p.fail(p.tok.pos, "limit needs a whole number of rows from 1 up, found %s", p.tok.val)
	}
	p.advance()
	c := &LimitCmd{N: n, Pos: Pos{start, p.prevEnd}}
	p.endCommand(`"|" after limit`)
	return c
}

func (p *parser) parseCmd(start int) *ParseCmd {
	c := &ParseCmd{}
	if p.tok.kind == tQuotedIdent || p.tok.kind == tIdent && !IsKeyword(p.tok.val) {
		c.Field = &FieldRef{Name: p.tok.val, Pos: p.tok.pos}
		p.advance()
	}
	switch p.tok.kind {
	case tString:
		c.Pattern = p.tok.val
		n := strings.Count(c.Pattern, "*")
		patPos := p.tok.pos
		if n == 0 {
			p.fail(patPos, "parse pattern %s has no * to capture: write * where a value goes", p.describe(p.tok))
		}
		p.advance()
		if !p.isWord("as") {
			p.expected(fmt.Sprintf(`"as" and %d field names after the parse pattern`, n))
		}
		p.advance()
		for {
			c.Names = append(c.Names, p.name("parse ... as"))
			if p.tok.kind != tComma {
				break
			}
			p.advance()
		}
		if len(c.Names) != n {
			p.fail(Pos{patPos.Start, p.prevEnd}, "parse pattern has %d * but %d field names", n, len(c.Names))
		}
	case tSlash:
		t, err := p.lx.regex(p.tok.pos.Start)
		if err != nil {
			panic(err)
		}
		p.tok = t
		re := p.compileRegex(t)
		c.Pattern, c.Regex = t.val, true
		seen := map[string]bool{}
		for _, name := range re.SubexpNames() {
			if name == "" {
				continue
			}
			if seen[strings.ToLower(name)] {
				p.fail(t.pos, "parse regular expression names the group %q twice", name)
			}
			seen[strings.ToLower(name)] = true
			c.Names = append(c.Names, name)
		}
		if len(c.Names) == 0 {
			p.fail(t.pos, "parse regular expression needs named groups such as (?<name>...) to define fields")
		}
		p.advance()
		if p.isWord("as") {
			p.fail(p.tok.pos, `a parse regular expression names its fields with (?<name>...) groups: remove the "as" list`)
		}
	default:
		p.expected(`a "glob * pattern" or a /regular expression/ after parse`)
	}
	c.Pos = Pos{start, p.prevEnd}
	p.endCommand(`"," or "|" after parse`)
	return c
}

func (p *parser) compileRegex(t token) *regexp.Regexp {
	re, err := regexp.Compile(t.val)
	if err != nil {
		msg := err.Error()
		msg = strings.TrimPrefix(msg, "error parsing regexp: ")
		p.fail(t.pos, "invalid regular expression: %s", msg)
	}
	return re
}

// name reads a field name after "as" or in a parse list.
func (p *parser) name(after string) string {
	if p.tok.kind == tQuotedIdent || p.tok.kind == tIdent && !IsKeyword(p.tok.val) {
		n := p.tok.val
		p.advance()
		return n
	}
	p.expected("a field name after " + after)
	return ""
}

func (p *parser) fieldList(cmd string) []*FieldRef {
	var out []*FieldRef
	for {
		if p.tok.kind != tQuotedIdent && (p.tok.kind != tIdent || IsKeyword(p.tok.val)) {
			p.expected("a field name after " + cmd)
		}
		if p.peek().kind == tLParen {
			p.fail(p.tok.pos, "%s takes field names, not expressions: define %s(...) with fields ... as name first", cmd, p.tok.val)
		}
		out = append(out, &FieldRef{Name: p.tok.val, Pos: p.tok.pos})
		p.advance()
		if p.tok.kind != tComma {
			break
		}
		p.advance()
	}
	p.endCommand(`"," or "|" after ` + cmd + ` field`)
	return out
}

// Expressions, from the loosest operator to the tightest:
//
//	or; and; not; comparisons (= != < <= > >= like =~ in); + -; * / %; unary -; ^.
func (p *parser) expr() Expr { return p.orExpr() }

func (p *parser) orExpr() Expr {
	x := p.andExpr()
	for p.isWord("or") {
		p.advance()
		y := p.andExpr()
		x = &BinaryExpr{Op: "or", X: x, Y: y, Pos: span(x, y)}
	}
	return x
}

func (p *parser) andExpr() Expr {
	x := p.notExpr()
	for p.isWord("and") {
		p.advance()
		y := p.notExpr()
		x = &BinaryExpr{Op: "and", X: x, Y: y, Pos: span(x, y)}
	}
	return x
}

func (p *parser) notExpr() Expr {
	if p.isWord("not") {
		start := p.tok.pos.Start
		p.advance()
		x := p.notExpr()
		return &UnaryExpr{Op: "not", X: x, Pos: Pos{start, x.Position().End}}
	}
	return p.cmpExpr()
}

// cmpOp returns the comparison operator at the current token, and how many
// tokens it spans.
func (p *parser) cmpOp() (string, int) {
	switch p.tok.kind {
	case tEq, tNe, tLt, tLe, tGt, tGe, tMatch:
		return punct[p.tok.kind], 1
	case tIdent:
		switch strings.ToLower(p.tok.val) {
		case "like":
			return "like", 1
		case "in":
			return "in", 1
		case "not":
			nx := p.peek()
			if nx.kind == tIdent && strings.EqualFold(nx.val, "like") {
				return "not like", 2
			}
			if nx.kind == tIdent && strings.EqualFold(nx.val, "in") {
				return "not in", 2
			}
		}
	}
	return "", 0
}

func (p *parser) cmpExpr() Expr {
	x := p.addExpr()
	op, n := p.cmpOp()
	if op == "" {
		return x
	}
	for range n {
		p.advance()
	}
	var y Expr
	switch op {
	case "like", "not like", "=~":
		// CloudWatch takes a quoted string after like or =~ as a substring
		// to find, and /.../ as a regular expression.
		switch p.tok.kind {
		case tString:
			y = &StringLit{Value: p.tok.val, Pos: p.tok.pos}
			p.advance()
		case tSlash:
			y = p.regexLit()
		default:
			p.expected(`a "string" or /regular expression/ after ` + op)
		}
	case "in", "not in":
		if p.tok.kind != tLBrack {
			p.expected(`a list such as ["a", "b"] after ` + op)
		}
		y = p.list()
	default:
		y = p.addExpr()
	}
	if op2, _ := p.cmpOp(); op2 != "" {
		p.fail(p.tok.pos, "comparisons cannot be chained: join them with and, as in a < b and b < c")
	}
	return &BinaryExpr{Op: op, X: x, Y: y, Pos: span(x, y)}
}

func (p *parser) regexLit() Expr {
	t, err := p.lx.regex(p.tok.pos.Start)
	if err != nil {
		panic(err)
	}
	p.tok = t
	p.compileRegex(t)
	p.advance()
	return &RegexLit{Pattern: t.val, Pos: t.pos}
}

func (p *parser) list() Expr {
	start := p.tok.pos.Start
	p.advance()
	l := &ListExpr{}
	if p.tok.kind == tRBrack {
		p.fail(Pos{start, p.tok.pos.End}, "empty list: write at least one value between [ and ]")
	}
	for {
		l.Elems = append(l.Elems, p.addExpr())
		if p.tok.kind == tRBrack {
			p.advance()
			break
		}
		if p.tok.kind != tComma {
			p.expected(`"," or "]" in list`)
		}
		p.advance()
	}
	l.Pos = Pos{start, p.prevEnd}
	return l
}

func (p *parser) addExpr() Expr {
	x := p.mulExpr()
	for p.tok.kind == tPlus || p.tok.kind == tMinus {
		op := punct[p.tok.kind]
		p.advance()
		y := p.mulExpr()
		x = &BinaryExpr{Op: op, X: x, Y: y, Pos: span(x, y)}
	}
	return x
}

func (p *parser) mulExpr() Expr {
	x := p.unaryExpr()
	for p.tok.kind == tStar || p.tok.kind == tSlash || p.tok.kind == tPercent {
		op := punct[p.tok.kind]
		p.advance()
		y := p.unaryExpr()
		x = &BinaryExpr{Op: op, X: x, Y: y, Pos: span(x, y)}
	}
	return x
}

func (p *parser) unaryExpr() Expr {
	if p.tok.kind == tMinus {
		start := p.tok.pos.Start
		p.advance()
		x := p.unaryExpr()
		return &UnaryExpr{Op: "-", X: x, Pos: Pos{start, x.Position().End}}
	}
	return p.powExpr()
}

func (p *parser) powExpr() Expr {
	x := p.primary()
	if p.tok.kind == tCaret {
		p.advance()
		y := p.unaryExpr()
		return &BinaryExpr{Op: "^", X: x, Y: y, Pos: span(x, y)}
	}
	return x
}

func (p *parser) primary() Expr {
	t := p.tok
	switch t.kind {
	case tIdent:
		if IsKeyword(t.val) {
			p.expected("an expression")
		}
		p.advance()
		if p.tok.kind == tLParen {
			return p.call(t)
		}
		return &FieldRef{Name: t.val, Pos: t.pos}
	case tQuotedIdent:
		p.advance()
		return &FieldRef{Name: t.val, Pos: t.pos}
	case tString:
		p.advance()
		return &StringLit{Value: t.val, Pos: t.pos}
	case tNumber:
		p.advance()
		return &NumberLit{Text: t.val, Pos: t.pos}
	case tLParen:
		p.advance()
		x := p.expr()
		if p.tok.kind != tRParen {
			p.expected(`")"`)
		}
		p.advance()
		return x
	case tDuration:
		p.fail(t.pos, "a period such as %s is only allowed as the period of bin, datefloor or dateceil", p.src[t.pos.Start:t.pos.End])
	case tSlash:
		p.fail(t.pos, "a regular expression is only allowed after like or =~, or in parse")
	case tLBrack:
		p.fail(t.pos, "a list is only allowed after in or not in")
	case tStar:
		p.fail(t.pos, "* is only allowed in count(*)")
	}
	p.expected("an expression")
	return nil
}

func (p *parser) call(name token) Expr {
	f, ok := LookupFunction(name.val)
	if !ok {
		if why, ok := unsupportedFunctions[strings.ToLower(name.val)]; ok {
			panic(Unsupportedf(p.src, name.pos, "function %s is not supported: %s", name.val, why))
		}
		msg := fmt.Sprintf("unknown function %q", name.val)
		if s := suggest(name.val, functionNames()); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		p.fail(name.pos, "%s", msg)
	}
	outer := p.ctx
	defer func() { p.ctx = outer }()
	if f.Kind == Aggregate {
		switch {
		case outer.inAgg != "":
			p.fail(name.pos, "aggregate function %s cannot be used inside %s", name.val, outer.inAgg)
		case !outer.aggOK && outer.where == "a by clause":
			p.fail(name.pos, "aggregate function %s is only allowed in stats, not in %s", name.val, outer.where)
		case !outer.aggOK:
			p.fail(name.pos, "aggregate function %s is only allowed in stats, not in %s; to use the result of an earlier stats, write its name or alias, such as `count(*)` in backquotes",
				name.val, outer.where)
		}
		p.ctx = exprCtx{inAgg: name.val, where: outer.where}
	}
	p.advance() // (
	c := &CallExpr{Name: name.val}
	for p.tok.kind != tRParen {
		if len(c.Args) > 0 {
			if p.tok.kind != tComma {
				p.expected(`"," or ")" in the arguments of ` + name.val)
			}
			p.advance()
		}
		a, ok := f.ArgAt(len(c.Args))
		if !ok {
			p.fail(p.tok.pos, "%s takes %s", name.val, arity(f))
		}
		switch {
		case a.Type == TypePeriod:
			if nx := p.peek(); p.tok.kind == tNumber && nx.kind == tIdent && durationUnits[strings.ToLower(nx.val)] != "" {
				p.fail(Pos{p.tok.pos.Start, nx.pos.End}, "write the period without a space, as %s%s", p.tok.val, nx.val)
			}
			if p.tok.kind != tDuration {
				p.expected(fmt.Sprintf("a period such as 5m, 1h or 1d as the %s of %s", a.Name, name.val))
			}
			c.Args = append(c.Args, &DurationLit{N: p.tok.n, Unit: p.tok.val, Pos: p.tok.pos})
			p.advance()
		case a.Star && p.tok.kind == tStar:
			c.Args = append(c.Args, &StarExpr{Pos: p.tok.pos})
			p.advance()
		default:
			x := p.expr()
			if a.Literal {
				p.checkLiteral(name.val, a, x)
			}
			c.Args = append(c.Args, x)
		}
	}
	p.advance() // )
	c.Pos = Pos{name.pos.Start, p.prevEnd}
	if len(c.Args) < f.MinArgs() {
		p.fail(c.Pos, "%s takes %s, got %d", name.val, arity(f), len(c.Args))
	}
	return c
}

func (p *parser) checkLiteral(fn string, a Arg, x Expr) {
	n, ok := x.(*NumberLit)
	if !ok {
		p.fail(x.Position(), "the %s of %s must be a number written in the query, such as 95", a.Name, fn)
	}
	if strings.EqualFold(fn, "pct") {
		v, err := strconv.ParseFloat(n.Text, 64)
		if err != nil || v < 0 || v > 100 {
			p.fail(x.Position(), "the percentile of pct must be between 0 and 100, found %s", n.Text)
		}
	}
}

func arity(f *Function) string {
	lo, hi := f.MinArgs(), f.MaxArgs()
	plural := func(n int) string {
		if n == 1 {
			return "1 argument"
		}
		return fmt.Sprintf("%d arguments", n)
	}
	switch {
	case hi < 0:
		return "at least " + plural(lo)
	case lo == hi:
		return plural(lo)
	case lo == 0:
		return "at most " + plural(hi)
	}
	return fmt.Sprintf("%d to %d arguments", lo, hi)
}

func span(x, y Node) Pos { return Pos{x.Position().Start, y.Position().End} }

func functionNames() []string {
	var out []string
	for _, f := range functions {
		out = append(out, f.Name)
		out = append(out, f.Aliases...)
	}
	return out
}

// suggest returns the candidate closest to word, if it is close enough to be
// a likely typo.
func suggest(word string, candidates []string) string { return spell.Closest(word, candidates) }

// Suggest returns the candidate closest to word when it is a likely typo,
// else "". Case, "-" and "_" are ignored, as field names are.
func Suggest(word string, candidates []string) string {
	norm := func(s string) string {
		return strings.NewReplacer("-", "", "_", "").Replace(strings.ToLower(s))
	}
	m := make(map[string]string)
	var list []string
	for _, c := range candidates {
		n := norm(c)
		if _, ok := m[n]; !ok {
			m[n] = c
			list = append(list, n)
		}
	}
	if s := suggest(norm(word), list); s != "" {
		return m[s]
	}
	return ""
}
