package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/flowlens/flowlens/engine"
	"github.com/flowlens/flowlens/insights"
)

// QueryRequest is the body of POST /api/v1/query.
type QueryRequest struct {
	// Query is the Insights query or SQL statement.
	Query string `json:"query"`
	// Lang is "insights" or "sql"; empty means told from the first word.
	Lang string `json:"lang,omitempty"`
	// From and To bound the records' start, [From, To): RFC 3339 text, or
	// Unix seconds as a number or text. Absent or null is unbounded.
	From json.RawMessage `json:"from,omitempty"`
	To   json.RawMessage `json:"to,omitempty"`
	// Limit caps the rows returned (default Options.DefaultRows, at most
	// Options.MaxRows).
	Limit int `json:"limit,omitempty"`
}

// QueryResponse is the answer of POST /api/v1/query: the shape of DESIGN §5
// and of `flowlens query -o json`, plus the column types, the language the
// query was read in and, for Insights, the SQL it compiled to.
type QueryResponse struct {
	Columns []string   `json:"columns"`
	Types   []string   `json:"types"`
	Rows    [][]any    `json:"rows"`
	Stats   QueryStats `json:"stats"`
	Lang    string     `json:"lang"`
	SQL     string     `json:"sql,omitempty"`
}

// QueryStats are a query's numbers.
type QueryStats struct {
	Rows    int     `json:"rows"`
	Seconds float64 `json:"seconds"`
	// Truncated reports that the query had more rows than its limit.
	Truncated bool `json:"truncated,omitempty"`
}

// decodeJSON reads the request body into v: application/json, at most
// MaxBodyBytes, one object, no unknown fields; an optional body may be empty.
// The content type is required even then: a browser sends it across origins
// only after a preflight, which this server never allows, so no other site
// can make a visitor's browser post to the API.
func (s *Server) decodeJSON(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "the request must be sent with Content-Type: application/json (got %q)", ct)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.o.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return errorf(http.StatusBadRequest, "bad_request", "read the request body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if optional {
			return nil
		}
		return errorf(http.StatusBadRequest, "bad_request", `the request body is empty: send a JSON object such as {"query": "stats count(*) by action"}`)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(body, err)
	}
	if dec.More() {
		off := dec.InputOffset()
		return errorf(http.StatusBadRequest, "bad_request", "the request body has more after its JSON object, at byte %d: send one object", off)
	}
	return nil
}

// jsonError explains a JSON decoding error with its place in the body.
func jsonError(body []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return errorf(http.StatusBadRequest, "bad_request", "the request body is not valid JSON at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	case errors.As(err, &te):
		return errorf(http.StatusBadRequest, "bad_request", "the request field %s must be %s, not a JSON %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errorf(http.StatusBadRequest, "bad_request", "the request body ends inside its JSON object (%d bytes)", len(body))
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if field, ok := strings.CutPrefix(msg, "unknown field "); ok {
		return errorf(http.StatusBadRequest, "bad_request", "the request has an unknown field %s (see docs/server.md)", field)
	}
	return errorf(http.StatusBadRequest, "bad_request", "the request body is not the expected JSON object: %s", msg)
}

func jsonKind(k string) string {
	switch k {
	case "int", "int64", "float64":
		return "a number"
	case "string":
		return "text"
	case "slice":
		return "a list"
	case "struct", "map":
		return "an object"
	}
	return k
}

func (s *Server) handleQuery(w http.ResponseWriter, r *http.Request) {
	began := time.Now()
	var req QueryRequest
	if err := s.decodeJSON(w, r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	if strings.TrimSpace(req.Query) == "" {
		s.writeError(w, r, errorf(http.StatusBadRequest, "bad_request", `the query is empty: give "query"`))
		return
	}
	lang := req.Lang
	switch lang {
	case "":
		lang = s.o.DetectLang(req.Query)
	case "insights", "sql":
	default:
		s.writeError(w, r, errorf(http.StatusBadRequest, "bad_request", `lang %q is not "insights" or "sql" (or leave it out to have it told from the query)`, req.Lang))
		return
	}
	var rng engine.Range
	var err error
	if rng.From, err = timeArg("from", req.From); err == nil {
		rng.To, err = timeArg("to", req.To)
	}
	if err == nil && !rng.From.IsZero() && !rng.To.IsZero() && !rng.From.Before(rng.To) {
		err = errorf(http.StatusBadRequest, "bad_request", "from %s is not before to %s", rng.From.Format(time.RFC3339), rng.To.Format(time.RFC3339))
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit := req.Limit
	switch {
	case limit == 0:
		limit = s.o.DefaultRows
	case limit < 0 || limit > s.o.MaxRows:
		s.writeError(w, r, errorf(http.StatusBadRequest, "bad_request", "limit %d is not between 1 and %d", req.Limit, s.o.MaxRows))
		return
	}
	sql := req.Query
	if lang == "insights" {
		if s.o.Insights == nil {
			s.writeError(w, r, errorf(http.StatusBadRequest, "unsupported", "this server runs SQL only: it has no Insights compiler"))
			return
		}
		if sql, err = s.o.Insights(req.Query, s.o.Engine.Dialect()); err != nil {
			var ie *insights.Error
			if !errors.As(err, &ie) {
				err = errorf(http.StatusBadRequest, "unsupported", "%v", err)
			}
			s.writeError(w, r, err)
			return
		}
	}
	res, err := s.runQuery(r, engine.Request{SQL: sql, Range: rng, MaxRows: limit, Timeout: s.o.QueryTimeout})
	if err != nil {
		e := statusOf(r.Context(), err)
		if lang == "insights" && e.Position != nil {
			// The engine points into the compiled SQL, not into the
			// Insights text the user wrote: say so, and give both.
			e.SQL, e.SQLPosition, e.Position = sql, e.Position, nil
			e.Message += " (in the SQL compiled from the Insights query)"
		}
		s.writeError(w, r, e)
		return
	}
	out := QueryResponse{Columns: res.Names(), Types: make([]string, len(res.Columns)), Rows: make([][]any, len(res.Rows)), Lang: lang}
	for i, c := range res.Columns {
		out.Types[i] = c.Type
	}
	for i, row := range res.Rows {
		vals := make([]any, len(row))
		for j, v := range row {
			vals[j] = jsonValue(v)
		}
		out.Rows[i] = vals
	}
	if lang == "insights" {
		out.SQL = sql
	}
	out.Stats = QueryStats{Rows: len(res.Rows), Seconds: math.Round(time.Since(began).Seconds()*1000) / 1000, Truncated: res.Truncated}
	writeJSON(w, http.StatusOK, out)
}

// runQuery runs req on the engine when a query slot is free, with the
// request's context: a client that goes away cancels the query.
func (s *Server) runQuery(r *http.Request, req engine.Request) (*engine.Result, error) {
	ctx := r.Context()
	// A query waits for a slot no longer than it may run: past that its
	// answer could no longer be written in time.
	wait := time.NewTimer(s.o.QueryTimeout)
	defer wait.Stop()
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		s.queries.cancelled.Add(1)
		return nil, ctx.Err()
	case <-wait.C:
		s.queries.failed.Add(1)
		return nil, errorf(http.StatusServiceUnavailable, "busy", "every query slot of the server (%d) stayed busy for %s: try again later, or narrow the queries that run", s.o.MaxQueries, s.o.QueryTimeout)
	}
	defer func() { <-s.sem }()
	s.queries.running.Add(1)
	res, err := s.o.Engine.Query(ctx, req)
	s.queries.running.Add(-1)
	switch qe := engine.AsError(err); {
	case err == nil:
		s.queries.served.Add(1)
	case ctx.Err() != nil:
		s.queries.cancelled.Add(1)
	case qe != nil && qe.Kind == engine.Timeout:
		s.queries.timedOut.Add(1)
	default:
		s.queries.failed.Add(1)
	}
	return res, err
}

// maxUnix is 9999-12-31T23:59:59Z, the last second RFC 3339 can write.
const maxUnix = 253402300799

// timeArg reads from or to: RFC 3339 text, or Unix seconds as a number or
// text; absent and null are the zero time.
func timeArg(name string, raw json.RawMessage) (time.Time, error) {
	v := strings.TrimSpace(string(raw))
	if v == "" || v == "null" {
		return time.Time{}, nil
	}
	if strings.HasPrefix(v, `"`) {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, errorf(http.StatusBadRequest, "bad_request", "%s: %v", name, err)
		}
		if s == "" {
			return time.Time{}, nil
		}
		v = s
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n > maxUnix || n < 0 {
			return time.Time{}, errorf(http.StatusBadRequest, "bad_request", "%s: %d is not Unix seconds between 1970 and 9999 (milliseconds? that is %d seconds)", name, n, n/1000)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, errorf(http.StatusBadRequest, "bad_request", "%s: %s is neither RFC 3339 (2024-03-01T00:00:00Z) nor Unix seconds", name, v)
	}
	return t.UTC(), nil
}

// jsonValue is engine.JSONValue.
func jsonValue(v any) any { return engine.JSONValue(v) }

// sqlWords start a SQL statement, whether it may run or not (the engine
// refuses all but SELECT with a clear message).
var sqlWords = map[string]bool{
	"select": true, "with": true, "from": true, "values": true, "table": true, "describe": true, "show": true,
	"summarize": true, "pivot": true, "unpivot": true, "explain": true, "copy": true, "attach": true, "detach": true,
	"install": true, "load": true, "set": true, "reset": true, "pragma": true, "call": true, "create": true,
	"drop": true, "alter": true, "insert": true, "update": true, "delete": true, "export": true, "import": true,
	"use": true, "begin": true, "commit": true, "rollback": true, "checkpoint": true, "vacuum": true, "analyze": true,
	"prepare": true, "execute": true, "deallocate": true, "truncate": true, "merge": true, "grant": true,
}

// DetectLang tells SQL from Insights as `flowlens query` does: by the first
// word after blanks and comments (SQL's -- and /* */ and a leading
// parenthesis mean SQL; Insights' # comments are skipped).
func DetectLang(q string) string {
	for i := 0; i < len(q); {
		switch c := q[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case strings.HasPrefix(q[i:], "--"), strings.HasPrefix(q[i:], "/*"), c == '(':
			return "sql"
		case c == '#':
			for i < len(q) && q[i] != '\n' {
				i++
			}
		default:
			j := i
			for j < len(q) && (q[j] == '_' || 'a' <= q[j]|0x20 && q[j]|0x20 <= 'z') {
				j++
			}
			if sqlWords[strings.ToLower(q[i:j])] {
				return "sql"
			}
			return "insights"
		}
	}
	return "insights"
}
