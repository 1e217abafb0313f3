package compile

// Dialect is the SQL flavour of an engine. Its methods, apart from Name, are
// unexported: another engine (ClickHouse) is supported by adding one file to
// this package that implements them, with no change to the compiler.
type Dialect interface {
	// Name is the engine's name, e.g. "duckdb".
	Name() string
	// ident quotes an identifier, str a string literal; both must call quote.
	ident(name string) string
	str(s string) string
	// call renders a neutral function over already rendered arguments.
	call(f fn, args []string) string
	// cast renders a conversion of x; with try, a value that does not
	// convert becomes NULL instead of an error.
	cast(x string, t sqlType, try bool) string
	// star renders "all columns of the FROM except these", with the
	// columns of replace (rendered "expr AS name") shown as those
	// expressions instead.
	star(except, replace []string) string
}

// fn is an engine-neutral SQL function. Dialects map each to their own
// spelling; the comment gives the meaning.
type fn string

const (
	fnCountStar     fn = "count_star"     // count(*)
	fnCount         fn = "count"          // non-null values
	fnCountDistinct fn = "count_distinct" // exact distinct non-null values
	fnSum           fn = "sum"
	fnAvg           fn = "avg"
	fnMin           fn = "min"
	fnMax           fn = "max"
	fnQuantile      fn = "quantile_cont" // (x, q), interpolated
	fnStddev        fn = "stddev_samp"
	fnArgMin        fn = "arg_min" // (x, by): x of the row with the smallest by
	fnArgMax        fn = "arg_max"
	fnLength        fn = "length" // characters
	fnUpper         fn = "upper"
	fnLower         fn = "lower"
	fnTrim          fn = "trim" // (s[, chars])
	fnLTrim         fn = "ltrim"
	fnRTrim         fn = "rtrim"
	fnSubstring     fn = "substring" // (s, start from 1[, length])
	fnReplace       fn = "replace"   // every occurrence
	fnContains      fn = "contains"  // substring test
	fnStartsWith    fn = "starts_with"
	fnConcat        fn = "concat"    // NULL counts as empty
	fnConcatWS      fn = "concat_ws" // (sep, ...)
	fnCoalesce      fn = "coalesce"
	fnAbs           fn = "abs"
	fnCeil          fn = "ceil"
	fnFloor         fn = "floor"
	fnGreatest      fn = "greatest"
	fnLeast         fn = "least"
	fnLn            fn = "ln"
	fnSqrt          fn = "sqrt"
	fnPow           fn = "pow"
	fnToTimestamp   fn = "to_timestamp" // Unix seconds → timestamp with time zone
	fnEpoch         fn = "epoch"        // timestamp → Unix seconds (double)
	fnEpochMs       fn = "epoch_ms"     // timestamp → Unix milliseconds (integer)
	fnDateTrunc     fn = "date_trunc"   // ('month'|'quarter'|'year', ts)
	fnRegexpMatch   fn = "regexp_matches"
	fnRegexpFull    fn = "regexp_full_match"
	fnRegexpExtract fn = "regexp_extract" // (s, re, group) → '' when no match
	fnRegexpReplace fn = "regexp_replace" // (s, re, replacement), first match
	fnRegexpCount   fn = "regexp_count"   // (s, re) → number of matches
	fnSplitPart     fn = "split_part"     // (s, sep, index from 1)
	fnLPad          fn = "lpad"           // (s, width, fill)
	fnRepeat        fn = "repeat"         // (s, n)
	fnToHex         fn = "to_hex"         // integer → lower-case hex digits
	fnChr           fn = "chr"            // code point → one-character text
	fnRowNumber     fn = "row_number"     // window function
	fnListValue     fn = "list_value"     // (a, b, ...) → a list, which orders element by element
	// fnNaturalKey maps text to a key whose byte order is CloudWatch's
	// natural order of non-number values: each run of digits becomes "0",
	// then something that orders as the run's length, then the digits;
	// other characters stay.
	fnNaturalKey fn = "natural_key"
)

// sqlType is a type named in CAST.
type sqlType int

const (
	typeDouble sqlType = iota
	typeBigint
	typeVarchar
	typeBool
	typeTimestamp // with time zone
)
