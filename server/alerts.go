package server

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/flowlens/flowlens/alert"
	"github.com/flowlens/flowlens/config"
)

// Paging of GET /api/v1/alerts.
const (
	DefaultAlertsLimit = 100
	MaxAlertsLimit     = 1000
)

// AlertsResponse is the answer of GET /api/v1/alerts: one page of the
// alerts that pass the filters, most recent last_seen first.
type AlertsResponse struct {
	Alerts []alert.Alert `json:"alerts"`
	// Total is how many alerts pass the filters, on every page.
	Total  int `json:"total"`
	Offset int `json:"offset"`
	Limit  int `json:"limit"`
	// NextOffset is the offset of the next page, absent on the last one.
	NextOffset *int `json:"next_offset,omitempty"`
	// Counts are the matching alerts per status, before the status filter,
	// for the console's tabs.
	Counts map[string]int `json:"counts"`
}

// alertFilter reads the query parameters of GET /api/v1/alerts.
func alertFilter(q url.Values, now time.Time) (f alert.Filter, offset, limit int, err error) {
	known := map[string]bool{"status": true, "severity": true, "category": true, "rule": true, "since": true, "offset": true, "limit": true}
	for k := range q {
		if !known[k] {
			return f, 0, 0, errorf(http.StatusBadRequest, "bad_request", "unknown parameter %q: the filters are status, severity, category, rule, since, offset and limit", k)
		}
	}
	switch st := q.Get("status"); st {
	case "":
		f.Status = []alert.Status{alert.StatusOpen}
	case "all":
	default:
		for _, s := range strings.Split(st, ",") {
			v, err := alert.ParseStatus(strings.TrimSpace(s))
			if err != nil {
				return f, 0, 0, errorf(http.StatusBadRequest, "bad_request", "%v (or all)", err)
			}
			f.Status = append(f.Status, v)
		}
	}
	if sev := q.Get("severity"); sev != "" {
		if f.MinSeverity, err = alert.ParseSeverity(sev); err != nil {
			return f, 0, 0, errorf(http.StatusBadRequest, "bad_request", "%v", err)
		}
	}
	if c := q.Get("category"); c != "" {
		if !alert.ValidCategory(c) {
			return f, 0, 0, errorf(http.StatusBadRequest, "bad_request", "category %q is not one of %s", c, strings.Join(alert.Categories, ", "))
		}
		f.Category = c
	}
	f.Rule = q.Get("rule")
	if s := q.Get("since"); s != "" {
		if f.Since, err = sinceArg(s, now); err != nil {
			return f, 0, 0, err
		}
	}
	num := func(name string, def, hi int) (int, error) {
		v := q.Get(name)
		if v == "" {
			return def, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > hi {
			return 0, errorf(http.StatusBadRequest, "bad_request", "%s %q is not a whole number from 0 to %d", name, v, hi)
		}
		return n, nil
	}
	if offset, err = num("offset", 0, 1<<30); err != nil {
		return f, 0, 0, err
	}
	if limit, err = num("limit", DefaultAlertsLimit, MaxAlertsLimit); err != nil {
		return f, 0, 0, err
	}
	if limit == 0 {
		limit = DefaultAlertsLimit
	}
	return f, offset, limit, nil
}

// sinceArg reads since as `flowlens alerts list --since` does: a duration
// back from now (24h, 7d) or a time (RFC 3339 or Unix seconds).
func sinceArg(s string, now time.Time) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 && n <= maxUnix {
		return time.Unix(n, 0).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	d, err := config.ParseDuration(s)
	if err != nil || d <= 0 {
		return time.Time{}, errorf(http.StatusBadRequest, "bad_request", "since %q: expected a duration such as 24h or 7d, or a time (RFC 3339 or Unix seconds)", s)
	}
	return now.Add(-d), nil
}

func (s *Server) store(w http.ResponseWriter, r *http.Request) *alert.Store {
	if s.o.Alerts == nil {
		s.writeError(w, r, errorf(http.StatusServiceUnavailable, "unavailable", "this server keeps no alert state"))
	}
	return s.o.Alerts
}

func (s *Server) handleAlerts(w http.ResponseWriter, r *http.Request) {
	store := s.store(w, r)
	if store == nil {
		return
	}
	f, offset, limit, err := alertFilter(r.URL.Query(), time.Now())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	statuses := f.Status
	f.Status = nil
	all, err := store.List(f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := AlertsResponse{Alerts: []alert.Alert{}, Offset: offset, Limit: limit, Counts: map[string]int{"open": 0, "acked": 0, "suppressed": 0}}
	var match []alert.Alert
	for _, a := range all {
		out.Counts[string(a.Status)]++
		f.Status = statuses
		if f.Match(&a) {
			match = append(match, a)
		}
	}
	out.Total = len(match)
	if offset < len(match) {
		out.Alerts = append(out.Alerts, match[offset:min(len(match), offset+limit)]...)
	}
	if next := offset + limit; next < len(match) {
		out.NextOffset = &next
	}
	writeJSON(w, http.StatusOK, out)
}

// ackRequest is the optional body of POST /api/v1/alerts/{id}/ack.
type ackRequest struct {
	// Note says why, for whoever reads the alert later.
	Note string `json:"note"`
	// By names who acknowledges (default "console").
	By string `json:"by"`
}

// resolveAlert finds the full id of an alert given by id or a unique prefix
// of at least 4 characters, as `flowlens alerts ack` takes it: 404 when none
// matches, 409 when several do.
func resolveAlert(store *alert.Store, id string) (string, error) {
	all, err := store.List(alert.Filter{})
	if err != nil {
		return "", err
	}
	var found []string
	for _, a := range all {
		if a.ID == id {
			return id, nil
		}
		if len(id) >= 4 && strings.HasPrefix(a.ID, id) {
			found = append(found, a.ID)
		}
	}
	switch len(found) {
	case 0:
		return "", errorf(http.StatusNotFound, "not_found", "no alert with id %q", id)
	case 1:
		return found[0], nil
	}
	return "", errorf(http.StatusConflict, "conflict", "alert id %q is ambiguous: %s and %s", id, found[0], found[1])
}

func (s *Server) handleAck(w http.ResponseWriter, r *http.Request) {
	s.changeAlert(w, r, func(store *alert.Store, id string, req ackRequest) ([]alert.Alert, error) {
		by := req.By
		if by == "" {
			by = "console"
		}
		return store.Ack([]string{id}, by, req.Note)
	})
}

func (s *Server) handleUnack(w http.ResponseWriter, r *http.Request) {
	s.changeAlert(w, r, func(store *alert.Store, id string, req ackRequest) ([]alert.Alert, error) {
		if req != (ackRequest{}) {
			return nil, errorf(http.StatusBadRequest, "bad_request", "unack takes no note or by")
		}
		return store.Unack([]string{id})
	})
}

// changeAlert reads the optional JSON body, resolves the alert id and
// applies change, answering {"alert": the alert as it now is}.
func (s *Server) changeAlert(w http.ResponseWriter, r *http.Request, change func(*alert.Store, string, ackRequest) ([]alert.Alert, error)) {
	store := s.store(w, r)
	if store == nil {
		return
	}
	var req ackRequest
	if err := s.decodeJSON(w, r, &req, true); err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := resolveAlert(store, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	as, err := change(store, id, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"alert": as[0]})
}
