package insights

import (
	"sort"
	"strings"
)

// Type is the type of a function argument or result.
type Type int

// The types of the language. TypePeriod is a time period literal such as 5m.
const (
	TypeAny Type = iota
	TypeNumber
	TypeString
	TypeBool
	TypeTimestamp
	TypePeriod
)

func (t Type) String() string {
	switch t {
	case TypeNumber:
		return "number"
	case TypeString:
		return "string"
	case TypeBool:
		return "boolean"
	case TypeTimestamp:
		return "timestamp"
	case TypePeriod:
		return "period"
	}
	return "any"
}

// Kind says whether a function works on one record or on a group of records.
type Kind int

// Function kinds. Aggregate functions are only allowed in stats.
const (
	Scalar Kind = iota
	Aggregate
)

func (k Kind) String() string {
	if k == Aggregate {
		return "aggregate"
	}
	return "scalar"
}

// Arg describes one parameter of a function.
type Arg struct {
	Name string
	Type Type
	// Optional arguments may be left out; only trailing ones are optional.
	Optional bool
	// Variadic means the argument may repeat; only the last one is variadic.
	Variadic bool
	// Literal means the argument must be written as a literal in the query.
	Literal bool
	// Star means the argument may be written as *, as in count(*).
	Star bool
}

// Function is one entry of the functions table. The same table drives the
// parser (names, arity, aggregate or not), the compiler (one translation per
// name), autocompletion and the reference in docs/insights.md.
type Function struct {
	Name     string
	Aliases  []string
	Kind     Kind
	Category string
	Args     []Arg
	Return   Type
	// Description is one sentence.
	Description string
	// Example is a query that uses the function.
	Example string
}

// MinArgs is the number of required arguments.
func (f *Function) MinArgs() int {
	n := 0
	for _, a := range f.Args {
		if !a.Optional && !a.Variadic {
			n++
		}
	}
	return n
}

// MaxArgs is the largest number of arguments, or -1 when the last is variadic.
func (f *Function) MaxArgs() int {
	if len(f.Args) > 0 && f.Args[len(f.Args)-1].Variadic {
		return -1
	}
	return len(f.Args)
}

// ArgAt returns the parameter that the i-th argument (from 0) binds to.
func (f *Function) ArgAt(i int) (Arg, bool) {
	if i < len(f.Args) {
		return f.Args[i], true
	}
	if n := len(f.Args); n > 0 && f.Args[n-1].Variadic {
		return f.Args[n-1], true
	}
	return Arg{}, false
}

// Signature renders the function as "name(arg: type, [opt: type], ...) type".
func (f *Function) Signature() string {
	var b strings.Builder
	b.WriteString(f.Name)
	b.WriteByte('(')
	for i, a := range f.Args {
		if i > 0 {
			b.WriteString(", ")
		}
		s := a.Name + ": " + a.Type.String()
		if a.Literal {
			s += " literal"
		}
		if a.Star {
			s += " | *"
		}
		switch {
		case a.Variadic:
			s = "..." + s
		case a.Optional:
			s = "[" + s + "]"
		}
		b.WriteString(s)
	}
	b.WriteString(") ")
	b.WriteString(f.Return.String())
	return b.String()
}

// Function categories, in the order the docs list them.
const (
	CatAggregate = "aggregate"
	CatGeneral   = "general"
	CatString    = "string"
	CatNumeric   = "numeric"
	CatDatetime  = "datetime"
	CatIP        = "ip"
)

// Categories lists the function categories in documentation order.
var Categories = []string{CatAggregate, CatGeneral, CatString, CatNumeric, CatDatetime, CatIP}

func arg(name string, t Type) Arg { return Arg{Name: name, Type: t} }
func opt(name string, t Type) Arg { return Arg{Name: name, Type: t, Optional: true} }
func rest(name string, t Type) Arg {
	return Arg{Name: name, Type: t, Variadic: true}
}

var functions = []*Function{
	// Aggregates: only in stats.
	{Name: "count", Kind: Aggregate, Category: CatAggregate,
		Args:        []Arg{{Name: "field", Type: TypeAny, Optional: true, Star: true}},
		Return:      TypeNumber,
		Description: "Counts records; count(field) counts the records where field is present.",
		Example:     `stats count(*) as flows by action`},
	{Name: "count_distinct", Aliases: []string{"dc"}, Kind: Aggregate, Category: CatAggregate,
		Args: []Arg{arg("field", TypeAny)}, Return: TypeNumber,
		Description: "Counts the distinct values of field (exact, not approximate).",
		Example:     `stats dc(dstport) as ports by srcaddr`},
	{Name: "sum", Kind: Aggregate, Category: CatAggregate,
		Args: []Arg{arg("field", TypeNumber)}, Return: TypeNumber,
		Description: "Adds up the values of field.",
		Example:     `stats sum(bytes) as total_bytes by srcaddr`},
	{Name: "avg", Kind: Aggregate, Category: CatAggregate,
		Args: []Arg{arg("field", TypeNumber)}, Return: TypeNumber,
		Description: "Averages the values of field.",
		Example:     `stats avg(bytes) by dstport`},
	{Name: "min", Kind: Aggregate, Category: CatAggregate,
		Args: []Arg{arg("field", TypeAny)}, Return: TypeAny,
		Description: "Returns the smallest value of field.",
		Example:     `stats min(start) by interface_id`},
	{Name: "max", Kind: Aggregate, Category: CatAggregate,
		Args: []Arg{arg("field", TypeAny)}, Return: TypeAny,
		Description: "Returns the largest value of field.",
		Example:     `stats max(bytes) by srcaddr`},
	{Name: "pct", Kind: Aggregate, Category: CatAggregate,
		Args:        []Arg{arg("field", TypeNumber), {Name: "percentile", Type: TypeNumber, Literal: true}},
		Return:      TypeNumber,
		Description: "Returns the given percentile (0 to 100) of field, interpolated between values.",
		Example:     `stats pct(bytes, 95) by dstport`},
	{Name: "stddev", Kind: Aggregate, Category: CatAggregate,
		Args: []Arg{arg("field", TypeNumber)}, Return: TypeNumber,
		Description: "Returns the sample standard deviation of field.",
		Example:     `stats stddev(bytes) by srcaddr`},
	{Name: "earliest", Kind: Aggregate, Category: CatAggregate,
		Args: []Arg{arg("field", TypeAny)}, Return: TypeAny,
		Description: "Returns field from the record with the earliest start time.",
		Example:     `stats earliest(action) by srcaddr`},
	{Name: "latest", Kind: Aggregate, Category: CatAggregate,
		Args: []Arg{arg("field", TypeAny)}, Return: TypeAny,
		Description: "Returns field from the record with the latest start time.",
		Example:     `stats latest(action) by srcaddr`},
	{Name: "sortsFirst", Kind: Aggregate, Category: CatAggregate,
		Args: []Arg{arg("field", TypeAny)}, Return: TypeAny,
		Description: "Returns the value of field that sorts first, in the order of sort (text in natural order, \"-\" before digits and letters).",
		Example:     `stats sortsFirst(dstaddr) by srcaddr`},
	{Name: "sortsLast", Kind: Aggregate, Category: CatAggregate,
		Args: []Arg{arg("field", TypeAny)}, Return: TypeAny,
		Description: "Returns the value of field that sorts last, in the order of sort.",
		Example:     `stats sortsLast(dstaddr) by srcaddr`},

	// General functions.
	{Name: "ispresent", Category: CatGeneral,
		Args: []Arg{arg("field", TypeAny)}, Return: TypeBool,
		Description: "True when field has a value (is not null).",
		Example:     `filter ispresent(pkt_srcaddr)`},
	{Name: "coalesce", Category: CatGeneral,
		Args: []Arg{arg("field", TypeAny), rest("fields", TypeAny)}, Return: TypeAny,
		Description: "Returns the first of its arguments that has a value.",
		Example:     `fields coalesce(pkt_srcaddr, srcaddr) as origin`},

	// String functions.
	{Name: "isempty", Category: CatString,
		Args: []Arg{arg("field", TypeAny)}, Return: TypeBool,
		Description: "True when field is missing or the empty string.",
		Example:     `filter isempty(vpc_id)`},
	{Name: "isblank", Category: CatString,
		Args: []Arg{arg("field", TypeAny)}, Return: TypeBool,
		Description: "True when field is missing, empty or only white space.",
		Example:     `filter not isblank(instance_id)`},
	{Name: "concat", Category: CatString,
		Args: []Arg{arg("str", TypeString), rest("strs", TypeString)}, Return: TypeString,
		Description: "Joins strings; missing values count as empty.",
		Example:     `fields concat(srcaddr, ":", srcport) as src`},
	{Name: "ltrim", Category: CatString,
		Args: []Arg{arg("str", TypeString), opt("chars", TypeString)}, Return: TypeString,
		Description: "Removes white space (space, tab, line feed, vertical tab, form feed, carriage return), or the given characters, from the start of str.",
		Example:     `fields ltrim(interface_id, "eni-") as eni`},
	{Name: "rtrim", Category: CatString,
		Args: []Arg{arg("str", TypeString), opt("chars", TypeString)}, Return: TypeString,
		Description: "Removes white space (space, tab, line feed, vertical tab, form feed, carriage return), or the given characters, from the end of str.",
		Example:     `fields rtrim(az_id, "0123456789") as zone_prefix`},
	{Name: "trim", Category: CatString,
		Args: []Arg{arg("str", TypeString), opt("chars", TypeString)}, Return: TypeString,
		Description: "Removes white space (space, tab, line feed, vertical tab, form feed, carriage return), or the given characters, from both ends of str.",
		Example:     `fields trim(@message) as line`},
	{Name: "strlen", Category: CatString,
		Args: []Arg{arg("str", TypeString)}, Return: TypeNumber,
		Description: "Returns the length of str in characters.",
		Example:     `stats max(strlen(srcaddr)) as longest`},
	{Name: "toupper", Category: CatString,
		Args: []Arg{arg("str", TypeString)}, Return: TypeString,
		Description: "Converts str to upper case.",
		Example:     `fields toupper(action) as verdict`},
	{Name: "tolower", Category: CatString,
		Args: []Arg{arg("str", TypeString)}, Return: TypeString,
		Description: "Converts str to lower case.",
		Example:     `filter tolower(action) = "reject"`},
	{Name: "substr", Category: CatString,
		Args: []Arg{arg("str", TypeString), arg("start", TypeNumber), opt("length", TypeNumber)}, Return: TypeString,
		Description: "Returns the part of str from index start (counted from 0), to the end or for length characters.",
		Example:     `fields substr(interface_id, 4) as eni_suffix`},
	{Name: "replace", Category: CatString,
		Args: []Arg{arg("str", TypeString), arg("search", TypeString), arg("replacement", TypeString)}, Return: TypeString,
		Description: "Replaces every occurrence of search in str with replacement.",
		Example:     `fields replace(srcaddr, ".", "-") as host`},
	{Name: "strcontains", Category: CatString,
		Args: []Arg{arg("str", TypeString), arg("search", TypeString)}, Return: TypeNumber,
		Description: "Returns 1 when str contains search, else 0.",
		Example:     `filter strcontains(srcaddr, "10.0.") = 1`},

	// Numeric functions.
	{Name: "abs", Category: CatNumeric,
		Args: []Arg{arg("a", TypeNumber)}, Return: TypeNumber,
		Description: "Absolute value.",
		Example:     `fields abs(dstport - srcport) as distance`},
	{Name: "ceil", Category: CatNumeric,
		Args: []Arg{arg("a", TypeNumber)}, Return: TypeNumber,
		Description: "Rounds up to the nearest integer.",
		Example:     `fields ceil(bytes / 1024) as kib`},
	{Name: "floor", Category: CatNumeric,
		Args: []Arg{arg("a", TypeNumber)}, Return: TypeNumber,
		Description: "Rounds down to the nearest integer.",
		Example:     `fields floor(bytes / 1024) as kib`},
	{Name: "greatest", Category: CatNumeric,
		Args: []Arg{arg("a", TypeNumber), rest("numbers", TypeNumber)}, Return: TypeNumber,
		Description: "Returns the largest of its arguments.",
		Example:     `fields greatest(srcport, dstport) as high_port`},
	{Name: "least", Category: CatNumeric,
		Args: []Arg{arg("a", TypeNumber), rest("numbers", TypeNumber)}, Return: TypeNumber,
		Description: "Returns the smallest of its arguments.",
		Example:     `fields least(srcport, dstport) as low_port`},
	{Name: "log", Category: CatNumeric,
		Args: []Arg{arg("a", TypeNumber)}, Return: TypeNumber,
		Description: "Natural logarithm.",
		Example:     `fields log(bytes) as log_bytes`},
	{Name: "sqrt", Category: CatNumeric,
		Args: []Arg{arg("a", TypeNumber)}, Return: TypeNumber,
		Description: "Square root.",
		Example:     `fields sqrt(packets) as root`},

	// Datetime functions.
	{Name: "bin", Category: CatDatetime,
		Args:        []Arg{{Name: "period", Type: TypePeriod, Literal: true}},
		Return:      TypeTimestamp,
		Description: "Rounds @timestamp down to a multiple of period, for time series in stats ... by.",
		Example:     `stats sum(bytes) by bin(5m)`},
	{Name: "datefloor", Category: CatDatetime,
		Args:        []Arg{arg("timestamp", TypeTimestamp), {Name: "period", Type: TypePeriod, Literal: true}},
		Return:      TypeTimestamp,
		Description: "Rounds timestamp down to a multiple of period.",
		Example:     `fields datefloor(@timestamp, 1h) as hour`},
	{Name: "dateceil", Category: CatDatetime,
		Args:        []Arg{arg("timestamp", TypeTimestamp), {Name: "period", Type: TypePeriod, Literal: true}},
		Return:      TypeTimestamp,
		Description: "Rounds timestamp up to a multiple of period.",
		Example:     `fields dateceil(@timestamp, 1h) as next_hour`},
	{Name: "fromMillis", Category: CatDatetime,
		Args: []Arg{arg("millis", TypeNumber)}, Return: TypeTimestamp,
		Description: "Converts milliseconds since the Unix epoch to a timestamp.",
		Example:     `fields fromMillis(start * 1000) as started`},
	{Name: "toMillis", Category: CatDatetime,
		Args: []Arg{arg("timestamp", TypeTimestamp)}, Return: TypeNumber,
		Description: "Converts a timestamp to milliseconds since the Unix epoch.",
		Example:     `fields toMillis(@timestamp) as ms`},

	// IP address functions.
	{Name: "isValidIp", Category: CatIP,
		Args: []Arg{arg("field", TypeString)}, Return: TypeBool,
		Description: "True when field is a valid IPv4 or IPv6 address.",
		Example:     `filter not isValidIp(pkt_srcaddr)`},
	{Name: "isValidIpV4", Category: CatIP,
		Args: []Arg{arg("field", TypeString)}, Return: TypeBool,
		Description: "True when field is a valid IPv4 address.",
		Example:     `filter isValidIpV4(srcaddr)`},
	{Name: "isValidIpV6", Category: CatIP,
		Args: []Arg{arg("field", TypeString)}, Return: TypeBool,
		Description: "True when field is a valid IPv6 address.",
		Example:     `filter isValidIpV6(srcaddr)`},
	{Name: "isIpInSubnet", Category: CatIP,
		Args: []Arg{arg("field", TypeString), arg("subnet", TypeString)}, Return: TypeBool,
		Description: "True when field is a valid IPv4 or IPv6 address inside the CIDR subnet.",
		Example:     `filter isIpInSubnet(srcaddr, "10.0.0.0/8")`},
	{Name: "isIpv4InSubnet", Category: CatIP,
		Args: []Arg{arg("field", TypeString), arg("subnet", TypeString)}, Return: TypeBool,
		Description: "True when field is a valid IPv4 address inside the IPv4 CIDR subnet.",
		Example:     `filter isIpv4InSubnet(srcaddr, "192.0.2.0/24")`},
	{Name: "isIpv6InSubnet", Category: CatIP,
		Args: []Arg{arg("field", TypeString), arg("subnet", TypeString)}, Return: TypeBool,
		Description: "True when field is a valid IPv6 address inside the IPv6 CIDR subnet.",
		Example:     `filter isIpv6InSubnet(srcaddr, "2001:db8::/32")`},
}

var functionIndex = func() map[string]*Function {
	m := make(map[string]*Function)
	for _, f := range functions {
		m[strings.ToLower(f.Name)] = f
		for _, a := range f.Aliases {
			m[strings.ToLower(a)] = f
		}
	}
	return m
}()

// Functions returns the functions table ordered by category, then name.
func Functions() []*Function {
	out := append([]*Function(nil), functions...)
	rank := make(map[string]int)
	for i, c := range Categories {
		rank[c] = i
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Category != out[j].Category {
			return rank[out[i].Category] < rank[out[j].Category]
		}
		return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name)
	})
	return out
}

// LookupFunction finds a function by name or alias, ignoring case.
func LookupFunction(name string) (*Function, bool) {
	f, ok := functionIndex[strings.ToLower(name)]
	return f, ok
}

// FunctionsMarkdown renders the functions table as the Markdown reference
// kept in docs/insights.md.
func FunctionsMarkdown() string {
	var b strings.Builder
	cat := ""
	for _, f := range Functions() {
		if f.Category != cat {
			cat = f.Category
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString("### " + categoryTitle(cat) + "\n\n")
			b.WriteString("| function | description | example |\n|---|---|---|\n")
		}
		// GitHub tables need "|" escaped, even inside code spans.
		cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
		name := "`" + cell(f.Signature()) + "`"
		if len(f.Aliases) > 0 {
			name += " (alias " + "`" + strings.Join(f.Aliases, "`, `") + "`)"
		}
		b.WriteString("| " + name + " | " + cell(f.Description) + " | `" + cell(f.Example) + "` |\n")
	}
	return b.String()
}

func categoryTitle(c string) string {
	switch c {
	case CatAggregate:
		return "Aggregate functions (stats only)"
	case CatGeneral:
		return "General functions"
	case CatString:
		return "String functions"
	case CatNumeric:
		return "Numeric functions"
	case CatDatetime:
		return "Datetime functions"
	case CatIP:
		return "IP address functions"
	}
	return c
}
