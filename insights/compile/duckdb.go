package compile

import (
	"strconv"
	"strings"
)

// DuckDB is the dialect of the embedded engine. The SQL uses only DuckDB's
// core functions: no extensions (no inet) and no macros.
var DuckDB Dialect = duckDB{}

type duckDB struct{}

func (duckDB) Name() string { return "duckdb" }

func (duckDB) ident(name string) string { return quote(name, '"', false) }

// DuckDB string literals are standard: a backslash is an ordinary character.
func (duckDB) str(s string) string { return quote(s, '\'', false) }

func (duckDB) call(f fn, args []string) string {
	a := strings.Join(args, ", ")
	switch f {
	case fnCountStar:
		return "count(*)"
	case fnCountDistinct:
		return "count(DISTINCT " + a + ")"
	case fnRegexpCount:
		return "len(regexp_extract_all(" + a + "))"
	case fnToHex:
		return "lower(hex(" + a + "))"
	case fnRegexpExtract:
		// regexp_extract numbers groups 0 to 9 only; a later group (the
		// tenth field of a parse) is taken from the struct of named groups
		// that the list form returns.
		if len(args) == 3 {
			if g, err := strconv.Atoi(args[2]); err == nil && g > 9 {
				names := make([]string, g)
				for i := range names {
					names[i] = quote("g"+strconv.Itoa(i+1), '\'', false)
				}
				return "struct_extract(regexp_extract(" + args[0] + ", " + args[1] + ", [" +
					strings.Join(names, ", ") + "]), " + names[g-1] + ")"
			}
		}
	case fnNaturalKey:
		// The length of a run of digits is one character, chr(64 + length):
		// code points, and so UTF-8 bytes, order as the lengths do. Testing
		// the first character rather than matching a pattern per chunk
		// keeps the key about three times cheaper.
		return "array_to_string(list_transform(regexp_extract_all(" + a + ", '[0-9]+|[^0-9]+'), " +
			"lambda nat_chunk: CASE WHEN nat_chunk[1] BETWEEN '0' AND '9' " +
			"THEN '0' || chr(CAST(64 + length(nat_chunk) AS INTEGER)) || nat_chunk ELSE nat_chunk END), '')"
	}
	return string(f) + "(" + a + ")"
}

func (duckDB) cast(x string, t sqlType, try bool) string {
	name := "VARCHAR"
	switch t {
	case typeDouble:
		name = "DOUBLE"
	case typeBigint:
		name = "BIGINT"
	case typeBool:
		name = "BOOLEAN"
	case typeTimestamp:
		name = "TIMESTAMP WITH TIME ZONE"
	}
	if try {
		return "TRY_CAST(" + x + " AS " + name + ")"
	}
	return "CAST(" + x + " AS " + name + ")"
}

func (d duckDB) star(except, replace []string) string {
	s := "*"
	if len(except) > 0 {
		q := make([]string, len(except))
		for i, e := range except {
			q[i] = d.ident(e)
		}
		s += " EXCLUDE (" + strings.Join(q, ", ") + ")"
	}
	if len(replace) > 0 {
		s += " REPLACE (" + strings.Join(replace, ", ") + ")"
	}
	return s
}
