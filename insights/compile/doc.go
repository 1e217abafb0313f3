// Package compile turns a parsed Logs Insights query (insights.Query) into
// one SQL SELECT statement over the flow-log view, for an engine dialect.
//
// It sits between package insights, which parses the query, and the engine,
// which runs the SQL. Commands are folded into a chain of nested SELECTs whose
// semantics match CloudWatch's pipeline: a filter before stats is a WHERE, a
// filter after stats filters the aggregated rows, sort and limit apply where
// they appear, and the order a sort gives lasts through the commands after
// it. Text sorts in CloudWatch's documented natural order (10.0.0.9 before
// 10.0.0.10). A null field of the view is the flow log's "-", which
// CloudWatch reads as text: comparisons answer for it as for "-" (dash.go),
// and results show it for text fields. The SQL is built as a small syntax tree and rendered by a
// Dialect; every identifier and literal goes through one quoting function.
// What cannot be translated exactly is an *insights.Error that wraps
// insights.ErrUnsupported and names the construct and its position.
//
// The main entry points are Compile, Schema (how field names resolve to
// columns), NewSchema, Options and the DuckDB dialect.
package compile
