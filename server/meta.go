package server

import (
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/flowlens/flowlens/config"
	"github.com/flowlens/flowlens/detect"
	"github.com/flowlens/flowlens/engine"
	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/insights"
	"github.com/flowlens/flowlens/lake"
)

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "version": s.o.Version, "auth": s.o.Token != ""})
}

// StatusResponse is the answer of GET /api/v1/status: the lake's summary as
// `flowlens status -o json` prints it, its records per day, the background
// jobs and the query counters.
type StatusResponse struct {
	Data string `json:"data"`
	lake.Status
	// FirstStart and LastStart are MinStart and MaxStart in RFC 3339.
	FirstStart string      `json:"first_start,omitempty"`
	LastStart  string      `json:"last_start,omitempty"`
	Days       []DayStatus `json:"days"`
	Jobs       []JobStatus `json:"jobs"`
	Queries    QueryCounts `json:"queries"`
}

// DayStatus is one partition (UTC day) of the lake.
type DayStatus struct {
	Day     string `json:"day"`
	Files   int    `json:"files"`
	Records int64  `json:"records"`
	Bytes   int64  `json:"bytes"`
}

// QueryCounts count the server's queries by outcome since it started.
type QueryCounts struct {
	Running   int64 `json:"running"`
	Served    int64 `json:"served"`
	Failed    int64 `json:"failed"`
	Cancelled int64 `json:"cancelled"`
	TimedOut  int64 `json:"timed_out"`
}

func (s *Server) counts() QueryCounts {
	q := &s.queries
	return QueryCounts{Running: q.running.Load(), Served: q.served.Load(), Failed: q.failed.Load(), Cancelled: q.cancelled.Load(), TimedOut: q.timedOut.Load()}
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	st, err := lake.StatusOf(s.o.DataDir)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	cat, err := lake.ReadCatalog(s.o.DataDir)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := StatusResponse{Data: s.o.DataDir, Status: st, Days: []DayStatus{}, Jobs: s.o.Jobs.List(), Queries: s.counts()}
	if st.MinStart != 0 {
		out.FirstStart = time.Unix(st.MinStart, 0).UTC().Format(time.RFC3339)
		out.LastStart = time.Unix(st.MaxStart, 0).UTC().Format(time.RFC3339)
	}
	days := map[string]*DayStatus{}
	for _, f := range cat.Files {
		d := days[f.Day]
		if d == nil {
			d = &DayStatus{Day: f.Day}
			days[f.Day] = d
		}
		d.Files++
		d.Records += f.Rows
		d.Bytes += f.Bytes
	}
	for _, d := range days {
		out.Days = append(out.Days, *d)
	}
	sort.Slice(out.Days, func(i, j int) bool { return out.Days[i].Day < out.Days[j].Day })
	writeJSON(w, http.StatusOK, out)
}

// FieldInfo is one flow-log field of GET /api/v1/fields.
type FieldInfo struct {
	Name        string `json:"name"`
	Column      string `json:"column"`
	Insights    string `json:"insights"`
	Version     int    `json:"version"`
	Type        string `json:"type"`
	Description string `json:"description"`
}

// ColumnInfo is one column of the vpc_flow_logs view.
type ColumnInfo struct {
	Name      string   `json:"name"`
	Type      string   `json:"type"`
	Aliases   []string `json:"aliases"`
	Source    string   `json:"source,omitempty"`
	Partition bool     `json:"partition,omitempty"`
}

func (s *Server) handleFields(w http.ResponseWriter, r *http.Request) {
	fields := []FieldInfo{}
	for _, f := range flowlog.Fields() {
		fields = append(fields, FieldInfo{Name: f.Name, Column: f.Column, Insights: f.Insights, Version: f.Version, Type: f.Type.SQL(), Description: f.Description})
	}
	cols := []ColumnInfo{}
	for _, c := range engine.ViewColumns() {
		cols = append(cols, ColumnInfo{Name: c.Name, Type: c.Type, Aliases: append([]string{}, c.Aliases...), Source: c.Source, Partition: c.Partition})
	}
	writeJSON(w, http.StatusOK, map[string]any{"fields": fields, "columns": cols, "builtin": []string{"@timestamp", "@message", "@logStream"}})
}

// FunctionInfo is one Insights function of GET /api/v1/functions.
type FunctionInfo struct {
	Name        string   `json:"name"`
	Aliases     []string `json:"aliases"`
	Category    string   `json:"category"`
	Kind        string   `json:"kind"`
	Signature   string   `json:"signature"`
	Description string   `json:"description"`
	Example     string   `json:"example"`
}

func (s *Server) handleFunctions(w http.ResponseWriter, r *http.Request) {
	fns := []FunctionInfo{}
	for _, f := range insights.Functions() {
		fns = append(fns, FunctionInfo{Name: f.Name, Aliases: append([]string{}, f.Aliases...), Category: f.Category, Kind: f.Kind.String(),
			Signature: signature(f), Description: f.Description, Example: f.Example})
	}
	writeJSON(w, http.StatusOK, map[string]any{"commands": insights.Commands, "functions": fns})
}

// signature renders name(arg, [optional], rest...).
func signature(f *insights.Function) string {
	var args []string
	for _, a := range f.Args {
		s := a.Name
		if a.Variadic {
			s += "..."
		}
		if a.Optional {
			s = "[" + s + "]"
		}
		args = append(args, s)
	}
	return f.Name + "(" + strings.Join(args, ", ") + ")"
}

// completeRequest is the body of POST /api/v1/complete.
type completeRequest struct {
	Query string `json:"query"`
	// Cursor is a byte offset in Query.
	Cursor int `json:"cursor"`
}

// Completion is one suggestion of POST /api/v1/complete.
type Completion struct {
	Label   string    `json:"label"`
	Insert  string    `json:"insert"`
	Kind    string    `json:"kind"`
	Detail  string    `json:"detail"`
	Replace *Position `json:"replace"`
}

func (s *Server) handleComplete(w http.ResponseWriter, r *http.Request) {
	var req completeRequest
	if err := s.decodeJSON(w, r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Cursor < 0 || req.Cursor > len(req.Query) {
		s.writeError(w, r, errorf(http.StatusBadRequest, "bad_request", "cursor %d is outside the query (0 to %d bytes)", req.Cursor, len(req.Query)))
		return
	}
	var names []string
	for _, c := range engine.ViewColumns() {
		names = append(names, c.Name)
	}
	for _, f := range flowlog.Fields() {
		if f.Insights != f.Column {
			names = append(names, f.Insights)
		}
	}
	out := []Completion{}
	for _, c := range insights.Complete(req.Query, req.Cursor, names) {
		out = append(out, Completion{Label: c.Label, Insert: c.Insert, Kind: string(c.Kind), Detail: c.Detail,
			Replace: position(req.Query, c.Replace.Start, c.Replace.End)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"completions": out})
}

// RuleInfo is one detection rule of GET /api/v1/rules.
type RuleInfo struct {
	ID          string             `json:"id"`
	Title       string             `json:"title"`
	Category    string             `json:"category"`
	Severity    string             `json:"severity"`
	MITRE       []string           `json:"mitre"`
	Description string             `json:"description"`
	Lang        string             `json:"lang"`
	Query       string             `json:"query"`
	Window      string             `json:"window"`
	WindowMode  string             `json:"window_mode"`
	Thresholds  map[string]float64 `json:"thresholds"`
	Enabled     bool               `json:"enabled"`
	Source      string             `json:"source"`
}

func ruleInfo(r *detect.Rule) RuleInfo {
	src := r.File
	if r.Builtin {
		src = "builtin"
	}
	th := map[string]float64{}
	for _, t := range r.Thresholds {
		th[t.Name] = t.Value
	}
	mitre := r.MITRE
	if mitre == nil {
		mitre = []string{}
	}
	return RuleInfo{ID: r.ID, Title: r.Title, Category: r.Category, Severity: r.Severity.String(), MITRE: mitre,
		Description: r.Description, Lang: r.Lang, Query: r.Query, Window: config.FormatDuration(r.Window.Size), WindowMode: r.Window.Mode,
		Thresholds: th, Enabled: r.Enabled, Source: src}
}

func (s *Server) handleRules(w http.ResponseWriter, r *http.Request) {
	out := []RuleInfo{}
	for _, rl := range s.o.Rules {
		out = append(out, ruleInfo(rl))
	}
	writeJSON(w, http.StatusOK, map[string]any{"rules": out})
}

func (s *Server) handleRule(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	i := slices.IndexFunc(s.o.Rules, func(rl *detect.Rule) bool { return rl.ID == id })
	if i < 0 {
		s.writeError(w, r, errorf(http.StatusNotFound, "not_found", "no rule has id %q (GET /api/v1/rules lists them)", id))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"rule": ruleInfo(s.o.Rules[i]), "text": string(s.o.Rules[i].Text)})
}
