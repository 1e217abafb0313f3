package compile

import (
	"fmt"
	"strings"

	"github.com/flowlens/flowlens/insights"
)

// ClickHouse is the dialect of the scale-out engine, written for the oldest
// ClickHouse flowlens supports, 18.16 (Debian bookworm's): no window
// functions, no true/false literals, no IS DISTINCT FROM, no * EXCEPT, no
// lpad, repeat or char. What it cannot say exactly is an error naming the
// construct that wraps insights.ErrUnsupported.
var ClickHouse Dialect = clickHouse{}

type clickHouse struct{}

func (clickHouse) Name() string { return "clickhouse" }

// ClickHouse names and strings give the backslash a meaning: it is doubled.
func (clickHouse) ident(name string) string { return quote(name, '"', true) }
func (clickHouse) str(s string) string      { return quote(s, '\'', true) }

func (clickHouse) boolean(v bool) string {
	if v {
		return "1"
	}
	return "0"
}

// distinctFrom is x <> y where NULL is a value: NULL-safe through
// isNull, since 18.16 has no IS DISTINCT FROM.
func (clickHouse) distinctFrom(x, y string) string {
	return "(if(isNull(" + x + ") OR isNull(" + y + "), isNull(" + x + ") != isNull(" + y + "), assumeNotNull(" + x + ") != assumeNotNull(" + y + ")))"
}

// in keeps SQL's answer for NULL, which ClickHouse 18.16 gives as 0 for IN
// and 1 for NOT IN.
func (clickHouse) in(x string, list []string, not bool) string {
	op := " IN ("
	if not {
		op = " NOT IN ("
	}
	return "if(isNull(" + x + "), NULL, " + x + op + strings.Join(list, ", ") + "))"
}

// re wraps a regular expression in a group: ClickHouse 18.16 looks for the
// literal text of a bare pattern before running it and ignores (?i) when it
// does, so match('ACCEPT', '(?i)accept') would be 0.
func re(x string) string { return "concat('(?:', " + x + ", ')')" }

func unsupportedCH(format string, a ...any) error {
	return fmt.Errorf("%s on ClickHouse 18.16: %w", fmt.Sprintf(format, a...), insights.ErrUnsupported)
}

func (clickHouse) checkStar(except, replace []string) error {
	if len(except) > 0 || len(replace) > 0 {
		return unsupportedCH("a field redefined under the name of a column (%s) cannot be compiled, since there is no SELECT * EXCEPT; give it a new name",
			strings.Join(append(except, replace...), ", "))
	}
	return nil
}

func (clickHouse) window() error {
	return unsupportedCH("dedup cannot be compiled: it needs a window function (row_number() OVER), which ClickHouse has only from 21.1")
}

func (clickHouse) checkCall(f fn, args []string) error {
	switch {
	case f == fnChr:
		return unsupportedCH("a character from its code point (chr) cannot be compiled: there is no char()")
	case f == fnTrim && len(args) > 1 || f == fnLTrim && len(args) > 1 || f == fnRTrim && len(args) > 1:
		return unsupportedCH("trim with a set of characters cannot be compiled")
	case f == fnRegexpExtract && len(args) == 3 && args[2] != "0" && args[2] != "1":
		return unsupportedCH("a regular expression's capture group %s cannot be extracted: only the whole match or the first group", args[2])
	case f == fnDateTrunc && len(args) == 2 && unitOf(args[0]) == "":
		return unsupportedCH("date_trunc to %s cannot be compiled", args[0])
	}
	return nil
}

// unitOf reads the unit literal of date_trunc.
func unitOf(lit string) string {
	switch strings.Trim(lit, "'") {
	case "month":
		return "toStartOfMonth"
	case "quarter":
		return "toStartOfQuarter"
	case "year":
		return "toStartOfYear"
	}
	return ""
}

func (clickHouse) call(f fn, args []string) string {
	a := strings.Join(args, ", ")
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return "NULL"
	}
	switch f {
	case fnCountStar:
		return "count()"
	case fnCountDistinct:
		return "uniqExact(" + a + ")"
	case fnQuantile:
		// Linear interpolation between the closest ranks, as DuckDB's
		// quantile_cont; ClickHouse's quantileExact does not interpolate.
		// The lambda binds the sorted values, the only way to name a value
		// twice in 18.16.
		s, q := "flowlens_q", arg(1)
		h := "((length(" + s + ") - 1) * " + q + ")"
		at := func(i string) string { return "arrayElement(" + s + ", toUInt64(" + i + ") + 1)" }
		return "arrayMap(" + s + " -> if(length(" + s + ") = 0, NULL, " + at("floor("+h+")") + " + (" + h + " - floor(" + h + ")) * (" +
			at("ceil("+h+")") + " - " + at("floor("+h+")") + ")), [arraySort(groupArray(toFloat64(" + arg(0) + ")))])[1]"
	case fnStddev:
		return "stddevSamp(" + a + ")"
	case fnArgMin:
		return "argMin(" + a + ")"
	case fnArgMax:
		return "argMax(" + a + ")"
	case fnLength:
		return "lengthUTF8(" + a + ")"
	case fnUpper:
		return "upperUTF8(" + a + ")"
	case fnLower:
		return "lowerUTF8(" + a + ")"
	case fnTrim:
		return "replaceRegexpAll(" + arg(0) + ", '^ +| +$', '')"
	case fnLTrim:
		return "replaceRegexpAll(" + arg(0) + ", '^ +', '')"
	case fnRTrim:
		return "replaceRegexpAll(" + arg(0) + ", ' +$', '')"
	case fnSubstring:
		return "substringUTF8(" + a + ")"
	case fnReplace:
		return "replaceAll(" + a + ")"
	case fnContains:
		return "(position(" + arg(0) + ", " + arg(1) + ") > 0)"
	case fnStartsWith:
		return "startsWith(" + a + ")"
	case fnConcat:
		// DuckDB's concat reads NULL as empty; ClickHouse's gives NULL.
		parts := make([]string, len(args))
		for i, x := range args {
			parts[i] = "ifNull(toString(" + x + "), '')"
		}
		return "concat(" + strings.Join(parts, ", ") + ")"
	case fnConcatWS:
		// concat_ws skips NULLs.
		list := make([]string, 0, len(args)-1)
		for _, x := range args[1:] {
			list = append(list, "if(isNull("+x+"), emptyArrayString(), [assumeNotNull(toString("+x+"))])")
		}
		return "arrayStringConcat(arrayConcat(" + strings.Join(list, ", ") + "), " + arg(0) + ")"
	case fnLn:
		return "log(" + a + ")"
	case fnToTimestamp:
		return "toDateTime(" + a + ", 'UTC')"
	case fnEpoch:
		return "toFloat64(toUnixTimestamp(" + a + "))"
	case fnEpochMs:
		return "(toInt64(toUnixTimestamp(" + a + ")) * 1000)"
	case fnDateTrunc:
		return "toDateTime(" + unitOf(arg(0)) + "(toDateTime(" + arg(1) + ", 'UTC')), 'UTC')"
	case fnRegexpMatch:
		return "match(" + arg(0) + ", " + re(arg(1)) + ")"
	case fnRegexpFull:
		return "match(" + arg(0) + ", concat('(?:^(?:', " + arg(1) + ", ')$)'))"
	case fnRegexpExtract:
		if len(args) < 3 || args[2] == "0" {
			return "extract(" + arg(0) + ", " + re(arg(1)) + ")"
		}
		return "arrayElement(extractAll(" + arg(0) + ", " + re(arg(1)) + "), 1)"
	case fnRegexpReplace:
		return "replaceRegexpOne(" + arg(0) + ", " + re(arg(1)) + ", " + arg(2) + ")"
	case fnRegexpCount:
		return "length(extractAll(" + arg(0) + ", " + re(arg(1)) + "))"
	case fnSplitPart:
		return "arrayElement(splitByString(" + arg(1) + ", " + arg(0) + "), " + arg(2) + ")"
	case fnLPad:
		s, w, fill := arg(0), arg(1), arg(2)
		return "if(lengthUTF8(" + s + ") >= " + w + ", substringUTF8(" + s + ", 1, toUInt64(" + w + ")), concat(substringUTF8(arrayStringConcat(arrayMap(x -> " +
			fill + ", range(toUInt64(" + w + "))), ''), 1, toUInt64(" + w + " - lengthUTF8(" + s + "))), " + s + "))"
	case fnRepeat:
		return "arrayStringConcat(arrayMap(x -> " + arg(0) + ", range(toUInt64(greatest(0, " + arg(1) + ")))), '')"
	case fnToHex:
		return "replaceRegexpOne(lower(hex(" + a + ")), '^0+(.)', '\\\\1')"
	case fnListValue:
		return "tuple(" + a + ")"
	case fnNaturalKey:
		// The same order as DuckDB's key: a run of digits becomes "0", its
		// length as four digits (1000 + length) and the digits.
		return "arrayStringConcat(arrayMap(nat_chunk -> if(match(nat_chunk, '^[0-9]'), concat('0', toString(1000 + length(nat_chunk)), nat_chunk), nat_chunk), " +
			"extractAll(" + a + ", '[0-9]+|[^0-9]+')), '')"
	}
	return string(f) + "(" + a + ")"
}

func (clickHouse) cast(x string, t sqlType, try bool) string {
	if try {
		switch t {
		case typeDouble:
			return "toFloat64OrNull(toString(" + x + "))"
		case typeBigint:
			return "toInt64OrNull(toString(" + x + "))"
		case typeTimestamp:
			return "parseDateTimeBestEffortOrNull(toString(" + x + "))"
		case typeBool:
			return "multiIf(lowerUTF8(toString(" + x + ")) IN ('true', 't', '1', 'yes', 'y'), toNullable(1), lowerUTF8(toString(" + x + ")) IN ('false', 'f', '0', 'no', 'n'), toNullable(0), NULL)"
		}
		return "toString(" + x + ")"
	}
	name := "String"
	switch t {
	case typeDouble:
		name = "Float64"
	case typeBigint:
		name = "Int64"
	case typeBool:
		name = "UInt8"
	case typeTimestamp:
		name = "DateTime"
	}
	return "CAST(" + x + " AS Nullable(" + name + "))"
}

func (d clickHouse) star(except, replace []string) string { return "*" }
