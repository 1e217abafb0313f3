// Package insights is the CloudWatch Logs Insights query language as flowlens
// speaks it: a lexer, a parser that checks commands and function calls against
// one functions table, the syntax tree, a printer that gives canonical text,
// and an autocompletion helper for the web console.
//
// It sits between the user (CLI, HTTP API, detection rules) and
// insights/compile, which turns a parsed Query into SQL for an engine dialect.
// It imports nothing else from flowlens.
//
// The main types are Query (a list of Command values such as FilterCmd and
// StatsCmd), Expr (FieldRef, CallExpr, BinaryExpr, ...), Function (one entry
// of the functions table) and Error (a message with a byte range in the query).
package insights
