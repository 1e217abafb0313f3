package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowlens/flowlens/alert"
	"github.com/flowlens/flowlens/detect"
	"github.com/flowlens/flowlens/engine"
)

// Defaults for Options left zero.
const (
	DefaultQueryTimeout = time.Minute
	DefaultRows         = 1000
	DefaultMaxRows      = 100_000
	DefaultMaxBodyBytes = 1 << 20
)

// Options say what a Server serves and how.
type Options struct {
	// DataDir is the flowlens data folder: the lake and its catalog, which
	// /api/v1/status reads.
	DataDir string
	// Engine runs the queries. The server does not close it.
	Engine engine.Engine
	// Insights compiles a Logs Insights query to SQL for the engine's
	// dialect; without it Insights queries are refused. An *insights.Error
	// it returns gives the error's position in the query.
	Insights func(query, dialect string) (string, error)
	// DetectLang tells "sql" from "insights" for a request without lang; nil
	// means DetectLang of this package.
	DetectLang func(query string) string
	// Alerts is the alert state the alert endpoints read and change; nil
	// makes them answer 503.
	Alerts *alert.Store
	// Rules are the detection rules /api/v1/rules lists.
	Rules []*detect.Rule
	// Token, when not empty, is the bearer token every /api request must
	// carry (Authorization: Bearer TOKEN).
	Token string
	// QueryTimeout bounds each query (default DefaultQueryTimeout).
	QueryTimeout time.Duration
	// DefaultRows is the row cap of a query that gives no limit, MaxRows the
	// largest limit a query may ask for (defaults DefaultRows, DefaultMaxRows).
	DefaultRows, MaxRows int
	// MaxBodyBytes caps a request body (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// MaxQueries is how many queries run at once; more wait for a turn
	// (default: the number of CPUs).
	MaxQueries int
	// Jobs, when set, holds the state of the background work (detection,
	// ingest) that /api/v1/status shows.
	Jobs *Jobs
	// Version is reported by /healthz.
	Version string
	// Logger receives one record per request at debug level and server
	// errors at error level; nil means slog.Default().
	Logger *slog.Logger
}

// Server is the HTTP handler of the API and the console.
type Server struct {
	o         Options
	mux       *http.ServeMux
	sem       chan struct{}
	tokenHash [32]byte
	log       *slog.Logger
	queries   queryCounters
}

// queryCounters count queries by outcome, for /api/v1/status and tests.
type queryCounters struct {
	running, served, failed, cancelled, timedOut atomic.Int64
}

// New returns a Server. It fails when a required option is missing.
func New(o Options) (*Server, error) {
	if o.Engine == nil {
		return nil, errors.New("new server: no engine")
	}
	if o.DataDir == "" {
		return nil, errors.New("new server: no data folder")
	}
	if o.QueryTimeout <= 0 {
		o.QueryTimeout = DefaultQueryTimeout
	}
	if o.MaxRows <= 0 {
		o.MaxRows = DefaultMaxRows
	}
	if o.DefaultRows <= 0 {
		o.DefaultRows = min(DefaultRows, o.MaxRows)
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxQueries <= 0 {
		o.MaxQueries = runtime.NumCPU()
	}
	if o.DetectLang == nil {
		o.DetectLang = DetectLang
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s := &Server{o: o, mux: http.NewServeMux(), sem: make(chan struct{}, o.MaxQueries), log: o.Logger}
	if o.Token != "" {
		s.tokenHash = sha256.Sum256([]byte(o.Token))
	}
	s.routes()
	return s, nil
}

// route is one API path and its handler per method.
type route map[string]http.HandlerFunc

func (s *Server) routes() {
	api := map[string]route{
		"/api/v1/query":             {http.MethodPost: s.handleQuery},
		"/api/v1/status":            {http.MethodGet: s.handleStatus},
		"/api/v1/alerts":            {http.MethodGet: s.handleAlerts},
		"/api/v1/alerts/{id}/ack":   {http.MethodPost: s.handleAck},
		"/api/v1/alerts/{id}/unack": {http.MethodPost: s.handleUnack},
		"/api/v1/fields":            {http.MethodGet: s.handleFields},
		"/api/v1/functions":         {http.MethodGet: s.handleFunctions},
		"/api/v1/complete":          {http.MethodPost: s.handleComplete},
		"/api/v1/rules":             {http.MethodGet: s.handleRules},
		"/api/v1/rules/{id}":        {http.MethodGet: s.handleRule},
		"/api/":                     nil, // every other API path: 404
		"/healthz":                  {http.MethodGet: s.handleHealth},
		"/":                         {http.MethodGet: s.handleConsole},
	}
	for pattern, rt := range api {
		var h http.Handler
		if rt == nil {
			h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s.writeError(w, r, errorf(http.StatusNotFound, "not_found", "no such endpoint: %s %s (see docs/server.md)", r.Method, r.URL.Path))
			})
		} else {
			h = rt.handler(s)
		}
		if strings.HasPrefix(pattern, "/api/") {
			h = s.guardAPI(h)
		}
		s.mux.Handle(pattern, h)
	}
}

// handler dispatches by method: GET also serves HEAD, and any other method
// gets 405 with the Allow header.
func (rt route) handler(s *Server) http.Handler {
	var allow []string
	for m := range rt {
		allow = append(allow, m)
		if m == http.MethodGet {
			allow = append(allow, http.MethodHead)
		}
	}
	slices.Sort(allow)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := r.Method
		if m == http.MethodHead {
			m = http.MethodGet
		}
		h, ok := rt[m]
		if !ok {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			s.writeError(w, r, errorf(http.StatusMethodNotAllowed, "method_not_allowed", "method %s is not allowed on %s: use %s", r.Method, r.URL.Path, strings.Join(allow, " or ")))
			return
		}
		h(w, r)
	})
}

// ServeHTTP serves the API and the console, with the security headers on
// every response.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	began := time.Now()
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	s.mux.ServeHTTP(sw, r)
	s.log.Debug("http request", "method", r.Method, "path", r.URL.Path, "status", sw.status, "seconds", time.Since(began).Seconds())
}

// statusWriter remembers the status code for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// guardAPI applies the API's checks before any handler: the bearer token,
// and without a token the loopback Host (against DNS rebinding); requests a
// browser marks as cross-site are refused either way, since the API allows
// no other origin.
func (s *Server) guardAPI(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
			s.writeError(w, r, errorf(http.StatusForbidden, "forbidden", "cross-site requests are not allowed: the API serves only its own console"))
			return
		}
		if s.o.Token == "" {
			if !loopbackHost(r.Host) {
				s.writeError(w, r, errorf(http.StatusForbidden, "forbidden", "host %q is not a loopback name: without a token the API answers only requests for localhost, 127.0.0.1 or [::1]", r.Host))
				return
			}
		} else if !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="flowlens"`)
			s.writeError(w, r, errorf(http.StatusUnauthorized, "unauthorized", "missing or wrong token: send the header Authorization: Bearer TOKEN"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// authorized compares the request's bearer token with the server's in
// constant time (both hashed, so that neither length shows either).
func (s *Server) authorized(r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(got[:], s.tokenHash[:]) == 1
}

// loopbackHost reports whether a Host header names this machine's loopback:
// localhost, 127.0.0.0/8 or ::1, with or without a port.
func loopbackHost(host string) bool {
	h := host
	if sh, _, err := net.SplitHostPort(host); err == nil {
		h = sh
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if strings.EqualFold(h, "localhost") || strings.HasSuffix(strings.ToLower(h), ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// CheckListen refuses an address that is not loopback when there is no
// token: the API would answer anyone who can reach the port. A host name
// other than localhost counts as not loopback, since it may resolve to
// anything.
func CheckListen(addr, token string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w (want HOST:PORT, such as 127.0.0.1:8080)", addr, err)
	}
	if token != "" {
		return nil
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	if strings.EqualFold(host, "localhost") || ip != nil && ip.IsLoopback() {
		return nil
	}
	what := host
	if host == "" || ip != nil && ip.IsUnspecified() {
		what = "every interface"
	}
	return fmt.Errorf("listen address %s is not loopback (%s): give a token with --token, FLOWLENS_TOKEN or server.token so that only its holders can query the lake", addr, what)
}

// Serve serves on ln until ctx ends, then shuts down: it stops accepting,
// lets requests in flight finish for up to grace, then cancels the queries
// still running and closes their connections.
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	base, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// A query may take QueryTimeout and its answer must still be written.
		WriteTimeout:   s.o.QueryTimeout + 30*time.Second,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
		BaseContext:    func(net.Listener) context.Context { return base },
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		cancelBase()
		err = srv.Close()
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// Jobs holds the state of serve's background work for /api/v1/status. It is
// safe for concurrent use.
type Jobs struct {
	mu   sync.Mutex
	jobs []JobStatus
}

// JobStatus is the state of one background job.
type JobStatus struct {
	// Name is the job: "detect" or "ingest".
	Name string `json:"name"`
	// Interval is how often it looks for new work, as a Go duration.
	Interval string `json:"interval"`
	// Runs counts the passes that did some work.
	Runs int `json:"runs"`
	// LastRun is when the last pass ended.
	LastRun time.Time `json:"last_run,omitzero"`
	// Summary says what the last pass did.
	Summary string `json:"summary,omitempty"`
	// LastError is the last pass's error, if it failed.
	LastError string `json:"last_error,omitempty"`
}

// Set records the state of the job named st.Name.
func (j *Jobs) Set(st JobStatus) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for i := range j.jobs {
		if j.jobs[i].Name == st.Name {
			j.jobs[i] = st
			return
		}
	}
	j.jobs = append(j.jobs, st)
}

// Get returns the state of the job named name.
func (j *Jobs) Get(name string) (JobStatus, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, st := range j.jobs {
		if st.Name == name {
			return st, true
		}
	}
	return JobStatus{}, false
}

// List returns every job's state, in the order they were first set.
func (j *Jobs) List() []JobStatus {
	if j == nil {
		return []JobStatus{}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]JobStatus{}, j.jobs...)
}
