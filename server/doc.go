// Package server is flowlens's HTTP API and its embedded web console, served by
// `flowlens serve`. It sits between HTTP clients (the console in a browser,
// scripts with curl) and the packages that hold the answers: engine runs the
// queries (Insights is compiled to SQL by a function the caller provides, as for
// detect), lake gives the lake's status, alert keeps the alert state and detect
// the rules. It reads and acknowledges; it never writes the lake.
//
// The API is JSON under /api/v1 (docs/server.md lists every endpoint): query,
// status, alerts (list, ack, unack), fields, functions, complete and rules, plus
// /healthz. Every error is one JSON shape, {"error": {"message", "position",
// …}}, with the status chosen in one place (statusOf). A bearer token, when
// set, guards every /api request; the console's static files (web/, embedded
// with go:embed, no external URL) are public, since they hold no data.
//
// Main types: Server (the handler), Options (what it serves), Jobs (the state
// of serve's background work, shown by /api/v1/status) and QueryRequest and
// QueryResponse (the query endpoint's JSON).
package server
