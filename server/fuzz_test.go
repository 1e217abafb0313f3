package server

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzRequest feeds arbitrary bodies and alert filters to the request
// readers (JSON decoding, time bounds, alert query parameters): they must
// never panic, and every failure must be a client error (4xx) with a
// message, as the API's error shape needs. No query runs.
func FuzzRequest(f *testing.F) {
	for _, seed := range []string{
		`{"query": "stats count(*)", "from": "2024-03-01T00:00:00Z", "to": 1709337600, "limit": 5}`,
		`{"query": "x", "from": null, "to": ""}`, `{"query": 1}`, `{"query": "x",}`, `{"query": "x"} {}`, `{"from": 99999999999999}`,
		`{"from": "-1"}`, `{"to": [1]}`, "", "\x00", `{"lang": "sql", "unknown": true}`,
	} {
		f.Add(seed, "status=all&severity=high&since=24h&offset=1&limit=2")
	}
	f.Add(`{}`, "since=9999999999999&limit=-1&status=open,,acked")
	f.Add(`{}`, "category=port-scan&since=2024-03-01T00:00:00Z&offset=1073741825")
	s := &Server{o: Options{MaxBodyBytes: 1 << 10}}
	clientError := func(err error) bool {
		e := statusOf(context.Background(), err)
		return e.status >= 400 && e.status < 500 && e.Message != ""
	}
	f.Fuzz(func(t *testing.T, body, params string) {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/query", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var req QueryRequest
		if err := s.decodeJSON(httptest.NewRecorder(), r, &req, false); err != nil {
			if !clientError(err) {
				t.Fatalf("decode %q: %v is not a client error", body, err)
			}
			return
		}
		for name, raw := range map[string][]byte{"from": req.From, "to": req.To} {
			if _, err := timeArg(name, raw); err != nil && !clientError(err) {
				t.Fatalf("%s %q: %v is not a client error", name, raw, err)
			}
		}
		q, err := url.ParseQuery(params)
		if err != nil {
			return
		}
		if _, _, _, err := alertFilter(q, time.Unix(1709337600, 0)); err != nil {
			var e *Error
			if !errors.As(err, &e) || !clientError(err) {
				t.Fatalf("alert filter %q: %v is not a client error", params, err)
			}
		}
	})
}
