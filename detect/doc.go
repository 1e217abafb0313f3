// Package detect finds attacks in flow logs: detection rules written in YAML,
// the built-in rule pack embedded in the binary, the runner that evaluates
// rules over time ranges of the lake, the watcher that follows a lake as new
// files are committed, and the scorer that measures alerts against a
// generator's truth file.
//
// It sits between the engine (which runs each rule's SQL over the
// vpc_flow_logs view, with the time range pushed down to the lake's
// partitions), enrich (threat lists and the estate's address ranges) and the
// alert package, whose Alert it produces; the CLI records those alerts in the
// alert state and sends them to sinks. Insights rules are compiled by a
// function the caller provides (Options.Insights), so detect does not depend
// on the Insights compiler.
//
// A rule's query refers to its thresholds and to built-in parameters as
// {{name}}; every value is substituted through engine.Literal, the one quoting
// function, and address predicates are generated from parsed prefixes, so no
// user text is ever pasted into SQL. See docs/rules.md for the format and the
// pack.
//
// Main types: Rule (one parsed rule; ParseRule, LoadDir, Builtin, Compose),
// Error and Errors (positioned validation errors), Runner (NewRunner, Run)
// with Options and Report, Watcher (NewWatcher, Follow), TruthEvent and Score
// (ReadTruth, Evaluate).
package detect
