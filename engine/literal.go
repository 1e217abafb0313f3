package engine

import (
	"fmt"
	"strconv"
	"strings"
)

// Literal renders a Go value as a SQL literal that DuckDB and ClickHouse both
// read: integers in plain decimal, whole float64s below 1e15 as integers and
// other float64s in the shortest decimal, text single-quoted with quotes
// doubled, and booleans as (1 = 1) or (1 = 0). It is the one function through
// which values reach rule and report SQL; any other type is a programming
// error and panics.
func Literal(v any) string {
	switch x := v.(type) {
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		if x == float64(int64(x)) && x < 1e15 && x > -1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case string:
		return "'" + strings.ReplaceAll(x, "'", "''") + "'"
	case bool:
		if x {
			return "(1 = 1)"
		}
		return "(1 = 0)"
	}
	panic(fmt.Sprintf("engine.Literal: unsupported type %T", v))
}
