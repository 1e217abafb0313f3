package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowlens/flowlens/alert"
	"github.com/flowlens/flowlens/detect"
	"github.com/flowlens/flowlens/engine"
	_ "github.com/flowlens/flowlens/engine/duckdb" // the embedded engine
	"github.com/flowlens/flowlens/ingest"
	"github.com/flowlens/flowlens/lake"
	"github.com/flowlens/flowlens/server"
	"github.com/flowlens/flowlens/source"
)

func init() { register(newServeCmd) }

type serveFlags struct {
	listen          string
	token           string
	queryTimeout    time.Duration
	detect          bool
	detectInterval  time.Duration
	rules           []string
	threatLists     []string
	ingestDir       string
	ingestInterval  time.Duration
	ingestFormat    string
	engine          string
	shutdownTimeout time.Duration
}

func newServeCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve [--listen ADDR] [--token TOKEN] [--detect=false] [--ingest DIR]",
		Short: "Serve the HTTP API and the web console; detect (and ingest) continuously",
		Long: `Serve answers the HTTP API (docs/server.md) and serves the web console at /:
queries in Insights or SQL with a results table, a chart of time series and CSV or
JSON download; the alerts, to filter and acknowledge; the lake's status.

It listens on 127.0.0.1:8080 unless --listen (or server.listen in the
configuration) says otherwise. An address other than loopback needs a token
(--token, else $FLOWLENS_TOKEN, else server.token, which may be ${ENV_NAME}): serve
refuses to start without one, since the API would answer anyone who can reach the
port. With a token, every /api request needs the header Authorization: Bearer
TOKEN; /healthz and the console's files are open (the console asks for the token
and keeps it in the browser tab). There is no TLS: put a reverse proxy in front
to serve other machines over HTTPS.

User SQL is read-only, as in flowlens query. Each query is stopped after
--query-timeout (answer 504), and a client that goes away stops its query.

With --detect (the default) the detection rules run continuously, as
flowlens detect --follow does: once over the last 24 hours of data in the lake,
then over the records of every newly committed file, polling every
--detect-interval. Alerts are recorded in the alert state and new ones go to the
sinks of alerts.sinks.

--ingest DIR also ingests a folder every --ingest-interval, as flowlens ingest DIR
does: new and grown files are stored, files already ingested are skipped.

SIGINT or SIGTERM stops serve gracefully: no new connections, requests in flight
get --shutdown-timeout to finish, then their queries are cancelled.

` + exitCodesHelp,
		Example: `  # The console on this machine
  flowlens serve
  # then open http://127.0.0.1:8080/

  # For the team, behind a reverse proxy, with a token
  FLOWLENS_TOKEN=$(openssl rand -hex 24) flowlens serve --listen 0.0.0.0:8080

  # Ingest what an 'aws s3 sync' cron job brings, and alert on it
  flowlens serve --ingest ./AWSLogs --ingest-interval 1m

  # The API from a script
  curl -s localhost:8080/api/v1/query -H 'Content-Type: application/json' \
    -d '{"query": "stats count(*) by action", "from": "2024-03-01T00:00:00Z"}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runServe(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "", "address to listen on, HOST:PORT (default: server.listen of the configuration, else 127.0.0.1:8080)")
	fl.StringVar(&f.token, "token", "", "bearer token required by every /api request (default $FLOWLENS_TOKEN, else server.token); needed to listen beyond loopback")
	fl.DurationVar(&f.queryTimeout, "query-timeout", server.DefaultQueryTimeout, "stop each query after this long")
	fl.BoolVar(&f.detect, "detect", true, "run the detection rules continuously on new data")
	fl.DurationVar(&f.detectInterval, "detect-interval", 10*time.Second, "how often detection looks for newly committed data")
	fl.StringArrayVar(&f.rules, "rules", nil, "folder of rule files (*.yaml) to add; repeatable (default: rules.dirs of the configuration)")
	fl.StringArrayVar(&f.threatLists, "threat-list", nil, "threat list file; repeatable (default: threat-lists of the configuration)")
	fl.StringVar(&f.ingestDir, "ingest", "", "also ingest this folder (or file or glob) every --ingest-interval")
	fl.DurationVar(&f.ingestInterval, "ingest-interval", time.Minute, "how often --ingest looks for new files")
	fl.StringVar(&f.ingestFormat, "format", "", "with --ingest, the record format of lines without a header (as flowlens ingest --format)")
	fl.StringVar(&f.engine, "engine", "", "query engine: duckdb (embedded, the default)")
	fl.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 10*time.Second, "on SIGINT or SIGTERM, how long requests in flight may take to finish")
	return cmd
}

// serveToken resolves the token: --token, else $FLOWLENS_TOKEN, else
// server.token, whose ${ENV_NAME} form names an environment variable.
func serveToken(flag string, cfg string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if t := os.Getenv("FLOWLENS_TOKEN"); t != "" {
		return t, nil
	}
	if name, ok := strings.CutPrefix(cfg, "${"); ok && strings.HasSuffix(name, "}") {
		name = strings.TrimSuffix(name, "}")
		t := os.Getenv(name)
		if t == "" {
			return "", fmt.Errorf("server.token is ${%s}, but %s is not set", name, name)
		}
		return t, nil
	}
	return cfg, nil
}

func runServe(cmd *cobra.Command, f *serveFlags) error {
	listen := f.listen
	if listen == "" {
		listen = g.cfg.Server.Listen
	}
	if listen == "" {
		listen = "127.0.0.1:8080"
	}
	token, err := serveToken(f.token, g.cfg.Server.Token)
	if err != nil {
		return usageErrorf("%v", err)
	}
	if err := server.CheckListen(listen, token); err != nil {
		return usageErrorf("%v", err)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"--query-timeout", f.queryTimeout}, {"--detect-interval", f.detectInterval}, {"--ingest-interval", f.ingestInterval}, {"--shutdown-timeout", f.shutdownTimeout}} {
		if d.v <= 0 {
			return usageErrorf("%s: %s is not a positive duration", d.name, d.v)
		}
	}
	dataDir, err := g.dataDir()
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	if st, err := os.Stat(dataDir); err == nil && !st.IsDir() {
		return usageErrorf("the data folder %s is a file, not a folder", dataDir)
	}
	rules, tls, err := rulesAndLists(cmd, f.rules, f.threatLists, nil)
	if err != nil {
		return err
	}
	var ingestOpts ingest.Options
	if f.ingestDir != "" {
		if !strings.ContainsAny(f.ingestDir, "*?[") {
			if _, err := os.Stat(f.ingestDir); err != nil {
				return usageErrorf("--ingest: %v", err)
			}
		}
		format := f.ingestFormat
		if format == "" {
			format = g.cfg.Format
		}
		so, err := scanOptions(cmd, format)
		if err != nil {
			return err
		}
		ingestOpts = ingest.Options{Format: so.Format, Guess: so.Guess, Retain: time.Duration(g.cfg.Retention), MemoryLimit: 640 << 20}
		if os.Getenv("GOMEMLIMIT") != "" {
			ingestOpts.MemoryLimit = 0
		}
	}
	ctx := cmd.Context()
	spec := f.engine
	if spec == "" {
		spec = g.cfg.Engine
	}
	eng, err := engine.Open(ctx, spec, dataDir)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	defer eng.Close()
	store, err := alert.OpenStore(dataDir)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	jobs := &server.Jobs{}
	srv, err := server.New(server.Options{
		DataDir: dataDir, Engine: eng, Insights: insightsCompiler, DetectLang: server.DetectLang,
		Alerts: store, Rules: rules, Token: token, QueryTimeout: f.queryTimeout, Jobs: jobs,
		Version: version, Logger: slog.Default(),
	})
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return &exitError{code: exitFailure, err: fmt.Errorf("listen on %s: %w", listen, err)}
	}
	auth := "no token (loopback only)"
	if token != "" {
		auth = "token required for /api"
	}
	noticef("flowlens serve: http://%s/ (%s); data %s", ln.Addr(), auth, dataDir)

	bg, stopBackground := context.WithCancel(ctx)
	defer stopBackground()
	done := make(chan struct{}, 2)
	background := 0
	if f.detect {
		disp, err := alert.NewDispatcher(ctx, g.cfg.Alerts.Sinks, alert.Env{})
		if err != nil {
			ln.Close()
			return &exitError{code: exitUsage, err: err}
		}
		runner := detect.NewRunner(eng, rules, detect.Options{ThreatLists: tls, Insights: insightsCompiler, Timeout: f.queryTimeout})
		background++
		go func() {
			defer func() { done <- struct{}{} }()
			serveDetect(bg, dataDir, runner, store, disp, jobs, f.detectInterval)
		}()
	}
	if f.ingestDir != "" {
		background++
		go func() {
			defer func() { done <- struct{}{} }()
			serveIngest(bg, dataDir, f.ingestDir, ingestOpts, jobs, f.ingestInterval)
		}()
	}
	err = srv.Serve(ctx, ln, f.shutdownTimeout)
	stopBackground()
	for range background {
		<-done
	}
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	noticef("flowlens serve: stopped")
	return nil
}

// serveDetect runs the rules once over the last day of data in the lake,
// then over every newly committed file's records, until ctx ends. A failing
// pass is recorded in jobs and does not stop the next.
func serveDetect(ctx context.Context, dataDir string, runner *detect.Runner, store *alert.Store, disp *alert.Dispatcher, jobs *server.Jobs, interval time.Duration) {
	st := server.JobStatus{Name: "detect", Interval: interval.String()}
	jobs.Set(st)
	pass := func(ctx context.Context, from, to time.Time) error {
		rp := runner.Run(ctx, from, to)
		if ctx.Err() != nil {
			return nil
		}
		all, changed, failed, err := recordAlerts(ctx, rp, store, disp)
		st.Runs++
		st.LastRun = time.Now().UTC().Truncate(time.Second)
		st.Summary = fmt.Sprintf("%s to %s: %d rules, %d alerts, %d new or changed", from.Format(time.RFC3339), to.Format(time.RFC3339), len(runner.Rules()), len(all), len(changed))
		st.LastError = ""
		switch {
		case err != nil:
			st.LastError = err.Error()
		case rp.Err() != nil:
			st.LastError = rp.Err().Error()
		case len(failed) > 0:
			st.LastError = "alerts not delivered to sink " + strings.Join(failed, ", ")
		}
		jobs.Set(st)
		slog.Info("detect pass", "from", from, "to", to, "alerts", len(all), "changed", len(changed), "err", st.LastError)
		return nil
	}
	for ctx.Err() == nil {
		// Files committed from now on are new; the first pass covers the rest.
		w, err := detect.NewWatcher(dataDir)
		if err == nil {
			if ls, serr := lake.StatusOf(dataDir); serr == nil && ls.MaxStart > 0 {
				to := time.Unix(ls.MaxStart+1, 0).UTC()
				_ = pass(ctx, to.Add(-24*time.Hour), to)
			}
			err = detect.Follow(ctx, w, interval, detect.Lookback(runner.Rules()), pass)
		}
		if err == nil || errors.Is(err, context.Canceled) {
			continue
		}
		// The lake could not be read (a damaged catalog, a full disk):
		// say so, and try again later.
		st.LastError = err.Error()
		jobs.Set(st)
		slog.Error("detect stopped", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(interval):
		}
	}
}

// serveIngest ingests dir every interval until ctx ends.
func serveIngest(ctx context.Context, dataDir, dir string, o ingest.Options, jobs *server.Jobs, interval time.Duration) {
	st := server.JobStatus{Name: "ingest", Interval: interval.String()}
	jobs.Set(st)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		files, err := source.Expand([]string{dir})
		var res *ingest.Result
		if err == nil {
			res, err = ingest.Run(ctx, dataDir, files, o)
		}
		if ctx.Err() != nil {
			return
		}
		st.LastRun = time.Now().UTC().Truncate(time.Second)
		st.LastError = ""
		if err != nil {
			st.LastError = err.Error()
			slog.Error("ingest failed", "path", dir, "err", err)
		}
		if res != nil {
			c := res.Counts
			if c.Sources > 0 {
				st.Runs++
				st.Summary = fmt.Sprintf("%d sources: read %d = stored %d + quarantined %d + already ingested %d", c.Sources, c.RecordsRead, c.RecordsStored, c.RecordsQuarantined, c.RecordsSkipped)
			}
			for _, s := range res.Failed {
				st.LastError = s.Path + ": " + s.Reason
			}
			slog.Info("ingest pass", "path", dir, "sources", c.Sources, "stored", c.RecordsStored, "quarantined", c.RecordsQuarantined)
		}
		jobs.Set(st)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
