package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/flowlens/flowlens/alert"
	"github.com/flowlens/flowlens/engine"
	"github.com/flowlens/flowlens/insights"
)

// StatusClientClosedRequest is the status recorded (in the log; the client
// is gone) for a query whose client went away before it finished.
const StatusClientClosedRequest = 499

// Error is the body of every error answer: {"error": Error}.
type Error struct {
	// Message says what went wrong and, where it can, what to do.
	Message string `json:"message"`
	// Kind classifies the error with a fixed word: bad_request,
	// unauthorized, forbidden, not_found, method_not_allowed, too_large,
	// unsupported_media_type, invalid_query, unsupported, refused, timeout,
	// cancelled, runtime, conflict, unavailable, busy, internal.
	Kind string `json:"kind"`
	// Hint says how to fix the query, when known.
	Hint string `json:"hint,omitempty"`
	// Position is the range of the query text the error is about.
	Position *Position `json:"position,omitempty"`
	// SQL is the SQL compiled from an Insights query, when the engine's
	// error is about it rather than the query as written; SQLPosition is
	// the range of SQL the error is about.
	SQL         string    `json:"sql,omitempty"`
	SQLPosition *Position `json:"sql_position,omitempty"`

	status int
}

// Position is a range [Start, End) of a text in bytes of its UTF-8 form, with
// the line and column (in characters, both from 1) of Start.
type Position struct {
	Start  int `json:"start"`
	End    int `json:"end"`
	Line   int `json:"line"`
	Column int `json:"column"`
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// errorf returns an *Error with the given status and kind.
func errorf(status int, kind, format string, a ...any) *Error {
	return &Error{status: status, Kind: kind, Message: fmt.Sprintf(format, a...)}
}

// position returns the Position of [start, end) in text.
func position(text string, start, end int) *Position {
	start = min(max(start, 0), len(text))
	end = min(max(end, start), len(text))
	before := text[:start]
	ls := strings.LastIndexByte(before, '\n') + 1
	return &Position{Start: start, End: end, Line: strings.Count(before, "\n") + 1, Column: utf8.RuneCountInString(before[ls:]) + 1}
}

// statusOf is the one place that maps errors to HTTP statuses and error
// bodies. ctx is the request's context: a query error after the client went
// away is a cancellation, not a time limit.
func statusOf(ctx context.Context, err error) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		if ae.status == 0 {
			ae.status = http.StatusInternalServerError
		}
		return ae
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errorf(http.StatusRequestEntityTooLarge, "too_large", "the request body is larger than the limit of %d bytes", mbe.Limit)
	}
	var ie *insights.Error
	if errors.As(err, &ie) {
		out := &Error{status: http.StatusBadRequest, Kind: "invalid_query", Message: ie.Msg}
		if errors.Is(err, insights.ErrUnsupported) {
			out.Kind = "unsupported"
		}
		// ie.Line and ie.Col are the query's; Start and End its bytes.
		out.Position = &Position{Start: ie.Pos.Start, End: ie.Pos.End, Line: ie.Line, Column: ie.Col}
		return out
	}
	if qe := engine.AsError(err); qe != nil {
		out := &Error{Message: qe.Msg, Hint: qe.Hint}
		switch qe.Kind {
		case engine.Invalid:
			out.status, out.Kind = http.StatusBadRequest, "invalid_query"
		case engine.Refused:
			out.status, out.Kind = http.StatusForbidden, "refused"
		case engine.Timeout:
			if ctx.Err() != nil {
				out.status, out.Kind, out.Message = StatusClientClosedRequest, "cancelled", "query cancelled: the client went away"
			} else {
				out.status, out.Kind = http.StatusGatewayTimeout, "timeout"
				out.Hint = "narrow the time range, add filters, or ask for fewer rows; the server's limit is serve --query-timeout"
			}
		default:
			out.status, out.Kind = http.StatusInternalServerError, "runtime"
		}
		if start, end, ok := qe.Span(); ok {
			out.Position = position(qe.SQL, start, end)
		}
		return out
	}
	var ide *alert.IDError
	if errors.As(err, &ide) {
		return &Error{status: http.StatusConflict, Kind: "conflict", Message: ide.Error()}
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return errorf(StatusClientClosedRequest, "cancelled", "request cancelled: the client went away")
	}
	return errorf(http.StatusInternalServerError, "internal", "%s", err.Error())
}

// writeError answers with err's status and body.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := statusOf(r.Context(), err)
	if e.status >= 500 && e.status != http.StatusGatewayTimeout && e.status != http.StatusServiceUnavailable {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", e.status, "err", err)
	}
	writeJSON(w, e.status, map[string]*Error{"error": e})
}

// writeJSON answers with status and v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		fmt.Fprintf(&buf, `{"error":{"message":%q,"kind":"internal"}}`+"\n", "encode the answer: "+err.Error())
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
