package compile

import (
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/flowlens/flowlens/insights"
)

// simple are the functions that map one to one onto an SQL function.
var simple = map[string]fn{
	"sum": fnSum, "avg": fnAvg, "stddev": fnStddev,
	"abs": fnAbs, "ceil": fnCeil, "floor": fnFloor,
	"greatest": fnGreatest, "least": fnLeast,
	"toupper": fnUpper, "tolower": fnLower, "trim": fnTrim, "ltrim": fnLTrim, "rtrim": fnRTrim,
	"replace": fnReplace, "concat": fnConcat,
}

// callExpr compiles a function call: one case per entry of the functions
// table (TestEveryFunctionCompiles checks that none is missing).
func (c *compiler) callExpr(e *insights.CallExpr) value {
	f, ok := insights.LookupFunction(e.Name)
	if !ok {
		c.fail(e.Pos, "unknown function %q", e.Name)
	}
	if n := len(e.Args); n < f.MinArgs() || f.MaxArgs() >= 0 && n > f.MaxArgs() {
		c.fail(e.Pos, "%s takes %d to %d arguments, got %d", e.Name, f.MinArgs(), f.MaxArgs(), n)
	}
	if f.Kind == insights.Aggregate {
		if c.stats == nil || c.stats.inAgg {
			c.fail(e.Pos, "aggregate function %s is only allowed in stats, outside other aggregates", e.Name)
		}
		c.stats.inAgg = true
		defer func() { c.stats.inAgg = false }()
	}
	args := e.Args
	arg := func(i int) value { return c.expr(args[i]) }
	numArg := func(i int) sqlExpr { return c.number(args[i], e.Name).x }
	textArg := func(i int) sqlExpr { return c.textOf(arg(i)) }
	texts := func() []sqlExpr {
		out := make([]sqlExpr, len(args))
		for i := range args {
			out[i] = textArg(i)
		}
		return out
	}
	nums := func() []sqlExpr {
		out := make([]sqlExpr, len(args))
		for i := range args {
			out[i] = numArg(i)
		}
		return out
	}
	switch f.Name {
	case "sum", "avg", "stddev", "abs", "ceil", "floor", "greatest", "least":
		return value{x: fcall(simple[f.Name], nums()...), t: vNum}
	case "log", "sqrt":
		// Engines fail the whole query on the logarithm of 0 or the root of
		// a negative number; give IEEE's answers instead, as division by
		// zero does: log(0) is -Infinity, the others NaN.
		x := numArg(0)
		nan := cast{x: strLit{"NaN"}, to: typeDouble}
		if f.Name == "sqrt" {
			return value{x: caseWhen{when: binOp{">=", x, num(0)}, then: fcall(fnSqrt, x),
				els: caseWhen{when: binOp{"<", x, num(0)}, then: nan}}, t: vNum}
		}
		return value{x: caseWhen{when: binOp{">", x, num(0)}, then: fcall(fnLn, x),
			els: caseWhen{when: binOp{"=", x, num(0)}, then: cast{x: strLit{"-Infinity"}, to: typeDouble},
				els: caseWhen{when: binOp{"<", x, num(0)}, then: nan}}}, t: vNum}
	case "trim", "ltrim", "rtrim":
		out := texts()
		if len(out) == 1 {
			// White space, as isblank counts it, not only the space.
			out = append(out, whiteSpaceChars())
		}
		return value{x: fcall(simple[f.Name], out...), t: vStr}
	case "toupper", "tolower", "replace", "concat":
		return value{x: fcall(simple[f.Name], texts()...), t: vStr}
	case "count":
		if len(args) == 0 {
			return value{x: fcall(fnCountStar), t: vNum}
		}
		if _, ok := args[0].(*insights.StarExpr); ok {
			return value{x: fcall(fnCountStar), t: vNum}
		}
		return value{x: fcall(fnCount, arg(0).x), t: vNum}
	case "count_distinct":
		return value{x: fcall(fnCountDistinct, arg(0).x), t: vNum}
	case "min", "max":
		v := arg(0)
		fn := fnMin
		if f.Name == "max" {
			fn = fnMax
		}
		return value{x: fcall(fn, v.x), t: v.t}
	case "pct":
		n, ok := args[1].(*insights.NumberLit)
		if !ok {
			c.fail(args[1].Position(), "the percentile of pct must be a number such as 95")
		}
		return value{x: fcall(fnQuantile, numArg(0), numLit{pctFraction(n.Text)}), t: vNum}
	case "earliest", "latest":
		if !c.lv.raw {
			c.fail(e.Pos, "%s picks by record start time, which is not available after stats", e.Name)
		}
		start, _, ok := c.schema.Resolve("start")
		if !ok {
			c.fail(e.Pos, "%s needs the start column, which the schema does not have", e.Name)
		}
		v := arg(0)
		fn := fnArgMin
		if f.Name == "latest" {
			fn = fnArgMax
		}
		return value{x: fcall(fn, v.x, colRef{start}), t: v.t}
	case "sortsFirst", "sortsLast":
		// The first or last value in sort's order: numbers and times as
		// min and max do, text in natural order with "-" as text.
		v := arg(0)
		if v.t != vStr && v.t != vDyn {
			fn := fnMin
			if f.Name == "sortsLast" {
				fn = fnMax
			}
			return value{x: fcall(fn, v.x), t: v.t}
		}
		x := c.showDash(v)
		keys := naturalOrder(x)
		keys[0] = cast{x: keys[0], to: typeVarchar} // false < true as 'false' < 'true'
		fn := fnArgMin
		if f.Name == "sortsLast" {
			fn = fnArgMax
		}
		return value{x: fcall(fn, x, fcall(fnListValue, keys...)), t: vStr}

	case "ispresent":
		return value{x: isNull{x: arg(0).x, not: true}, t: vBool}
	case "coalesce":
		vals := make([]value, len(args))
		same := true
		for i := range args {
			vals[i] = arg(i)
			same = same && vals[i].t == vals[0].t
		}
		out := make([]sqlExpr, len(vals))
		for i, v := range vals {
			out[i] = v.x
			if !same {
				out[i] = c.textOf(v)
			}
		}
		t := vals[0].t
		if !same {
			t = vStr
		}
		return value{x: fcall(fnCoalesce, out...), t: t}
	case "isempty":
		return value{x: binOp{"=", fcall(fnCoalesce, textArg(0), strLit{""}), strLit{""}}, t: vBool}
	case "isblank":
		return value{x: fcall(fnRegexpFull, fcall(fnCoalesce, textArg(0), strLit{""}), strLit{`[ \t\n\v\f\r]*`}), t: vBool}
	case "strlen":
		return value{x: fcall(fnLength, textArg(0)), t: vNum}
	case "substr":
		// Insights counts from 0, SQL from 1. Indexes are whole characters:
		// a fraction written in the query is an error, a computed one is
		// rounded down.
		whole := func(i int, what string) sqlExpr {
			if n, ok := args[i].(*insights.NumberLit); ok && !isInt(n.Text) {
				c.fail(n.Pos, "the %s of substr must be a whole number, found %s", what, n.Text)
			}
			return cast{x: fcall(fnFloor, numArg(i)), to: typeBigint, try: true}
		}
		var start sqlExpr
		if n, ok := args[1].(*insights.NumberLit); ok && isInt(n.Text) {
			i, err := strconv.ParseInt(n.Text, 10, 64)
			if err != nil || i < 0 || i > 1<<40 {
				c.fail(n.Pos, "substr start %s is out of range", n.Text)
			}
			start = num(i + 1)
		} else {
			start = binOp{"+", whole(1, "start"), num(1)}
		}
		out := []sqlExpr{textArg(0), start}
		if len(args) == 3 {
			if n, ok := args[2].(*insights.NumberLit); ok && isInt(n.Text) {
				out = append(out, numArg(2))
			} else {
				out = append(out, whole(2, "length"))
			}
		}
		return value{x: fcall(fnSubstring, out...), t: vStr}
	case "strcontains":
		return value{x: cast{x: fcall(fnContains, textArg(0), textArg(1)), to: typeBigint}, t: vNum}

	case "bin":
		if !c.lv.raw {
			text := c.src[e.Pos.Start:e.Pos.End]
			if slices.Contains(c.lv.input, text) {
				c.fail(e.Pos, "bin rounds @timestamp, which is not available after stats; the bins of the earlier stats are the field `%s`, in backquotes", text)
			}
			c.fail(e.Pos, "bin rounds @timestamp, which is not available after stats")
		}
		start, _, ok := c.schema.Resolve("start")
		if !ok {
			c.fail(e.Pos, "bin needs the start column, which the schema does not have")
		}
		return value{x: c.floorTime(colRef{start}, nil, args[0], e.Name, false), t: vTime}
	case "datefloor", "dateceil":
		ts := arg(0)
		if ts.t != vTime && ts.t != vAny {
			c.fail(args[0].Position(), "%s needs a timestamp such as @timestamp, but %s is %s", e.Name, args[0], ts.t)
		}
		var secs sqlExpr
		if s, ok := epochSeconds(ts.x); ok {
			secs = s // @timestamp: round the seconds directly
		} else {
			secs = fcall(fnEpoch, ts.x)
		}
		return value{x: c.floorTime(secs, ts.x, args[1], e.Name, f.Name == "dateceil"), t: vTime}
	case "fromMillis":
		// Outside ±8.64e15 ms (JavaScript's date range, inside every
		// engine's) a time is null rather than a failed query.
		ms := numArg(0)
		return value{x: caseWhen{when: binOp{"<=", fcall(fnAbs, ms), numLit{"8640000000000000"}},
			then: fcall(fnToTimestamp, binOp{"/", ms, num(1000)})}, t: vTime}
	case "toMillis":
		ts := arg(0)
		if ts.t != vTime && ts.t != vAny {
			c.fail(args[0].Position(), "toMillis needs a timestamp such as @timestamp, but %s is %s", args[0], ts.t)
		}
		return value{x: fcall(fnEpochMs, ts.x), t: vNum}

	case "isValidIp":
		x := textArg(0)
		return value{x: fcall(fnCoalesce, binOp{"OR", validV4(x), validV6(x)}, boolLit{false}), t: vBool}
	case "isValidIpV4":
		return value{x: fcall(fnCoalesce, validV4(textArg(0)), boolLit{false}), t: vBool}
	case "isValidIpV6":
		return value{x: fcall(fnCoalesce, validV6(textArg(0)), boolLit{false}), t: vBool}
	case "isIpInSubnet", "isIpv4InSubnet", "isIpv6InSubnet":
		p := c.subnet(e, args[1])
		x := textArg(0)
		var in sqlExpr
		switch {
		case p.Addr().Is4() && f.Name != "isIpv6InSubnet":
			in = v4InPrefix(x, p)
		case !p.Addr().Is4() && f.Name != "isIpv4InSubnet":
			in = v6InPrefix(x, p)
		case f.Name == "isIpv4InSubnet":
			c.fail(args[1].Position(), "isIpv4InSubnet needs an IPv4 subnet such as \"10.0.0.0/8\"; use isIpv6InSubnet or isIpInSubnet for %s", p)
		default:
			c.fail(args[1].Position(), "isIpv6InSubnet needs an IPv6 subnet such as \"2001:db8::/32\"; use isIpv4InSubnet or isIpInSubnet for %s", p)
		}
		return value{x: fcall(fnCoalesce, in, boolLit{false}), t: vBool}
	}
	c.unsupported(e.Pos, "function %s is not supported", e.Name)
	return value{}
}

// whiteSpaceChars is the text of the white space characters that trim
// removes by default and that isblank accepts: space, tab, line feed,
// vertical tab, form feed and carriage return.
func whiteSpaceChars() sqlExpr {
	return fcall(fnConcat, strLit{" "}, fcall(fnChr, num(9)), fcall(fnChr, num(10)), fcall(fnChr, num(11)),
		fcall(fnChr, num(12)), fcall(fnChr, num(13)))
}

func isInt(s string) bool { return !strings.Contains(s, ".") }

func (c *compiler) subnet(call *insights.CallExpr, e insights.Expr) netip.Prefix {
	lit, ok := e.(*insights.StringLit)
	if !ok {
		c.unsupported(e.Position(), "the subnet of %s must be a string literal such as \"10.0.0.0/8\"; subnets from fields are not supported", call.Name)
	}
	p, err := netip.ParsePrefix(strings.TrimSpace(lit.Value))
	if err != nil || p.Addr().Zone() != "" {
		c.fail(e.Position(), "invalid subnet %s: expected CIDR notation such as \"10.0.0.0/8\" or \"2001:db8::/32\"", lit)
	}
	return p
}

// floorTime rounds Unix seconds secs down (or up) to a multiple of the
// period e. ts is the same instant as a timestamp, or nil to derive it.
func (c *compiler) floorTime(secs, ts sqlExpr, e insights.Expr, fname string, up bool) sqlExpr {
	d, ok := e.(*insights.DurationLit)
	if !ok {
		c.fail(e.Position(), "%s expects a period such as 5m", fname)
	}
	if n, ok := d.Seconds(); ok {
		if n <= 0 {
			c.fail(d.Pos, "the period of %s must be positive", fname)
		}
		round := fnFloor
		if up {
			round = fnCeil
		}
		return fcall(fnToTimestamp, binOp{"*", fcall(round, binOp{"/", secs, num(n)}), num(n)})
	}
	if d.Unit == "ms" {
		c.unsupported(d.Pos, "period %s is shorter than the one-second resolution of flow-log times", d)
	}
	unit := map[string]string{"mo": "month", "q": "quarter", "y": "year"}[d.Unit]
	if d.N != 1 || up {
		c.unsupported(d.Pos, "calendar period %s in %s is not supported: use 1mo, 1q or 1y with bin or datefloor", d, fname)
	}
	if ts == nil {
		ts = fcall(fnToTimestamp, secs)
	}
	return fcall(fnDateTrunc, strLit{unit}, ts)
}

// compileRegex checks a regular expression with Go's RE2-compatible engine.
func compileRegex(pattern string) (*regexp.Regexp, error) { return regexp.Compile(pattern) }

// toRE2 rewrites named groups (?<name>...) as (?P<name>...), the spelling
// every RE2 version accepts; escapes and character classes are skipped.
func toRE2(pattern string) string {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(pattern); i++ {
		ch := pattern[i]
		switch {
		case ch == '\\' && i+1 < len(pattern):
			b.WriteByte(ch)
			b.WriteByte(pattern[i+1])
			i++
			continue
		case inClass && ch == ']':
			inClass = false
		case !inClass && ch == '[':
			inClass = true
			b.WriteByte(ch)
			// A ] right after [ or [^ is a literal.
			if i+1 < len(pattern) && pattern[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(pattern) && pattern[i+1] == ']' {
				b.WriteByte(']')
				i++
			}
			continue
		case !inClass && strings.HasPrefix(pattern[i:], "(?<") && i+3 < len(pattern) &&
			pattern[i+3] != '=' && pattern[i+3] != '!':
			b.WriteString("(?P<")
			i += 2
			continue
		}
		b.WriteByte(ch)
	}
	return b.String()
}

// globRegex turns a parse glob into a regular expression: each * captures
// as little as it can, except a final * that takes the rest.
func globRegex(glob string) string {
	parts := strings.Split(glob, "*")
	var b strings.Builder
	for i, p := range parts {
		b.WriteString(regexp.QuoteMeta(p))
		if i < len(parts)-1 {
			if i == len(parts)-2 && parts[len(parts)-1] == "" {
				b.WriteString("(.*)")
			} else {
				b.WriteString("(.*?)")
			}
		}
	}
	return b.String()
}
