package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowlens/flowlens/config"
	"github.com/flowlens/flowlens/ingest"
	"github.com/flowlens/flowlens/source"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

func init() { register(newIngestCmd) }

func newIngestCmd() *cobra.Command {
	var (
		formatFlag string
		strict     bool
		retain     string
		workers    int
		txnBytes   int64
		fileRows   int
		engineSpec string
		s3f        s3Flags
	)
	cmd := &cobra.Command{
		Use:   "ingest [--format FMT] [--strict] [-o text|json] SOURCE...|s3://BUCKET/PREFIX...",
		Short: "Store flow-log records in the Parquet lake",
		Long: `Ingest reads flow-log sources and stores their records in the lake,
DATA/lake/vpc_flow_logs/year=YYYY/month=MM/day=DD/*.parquet (UTC day of start).

A source is a file, a folder (searched recursively; an 'aws s3 sync' copy of a
flow-log bucket is the common case), a glob or "-" for standard input. Each file
is recognised by its content: plain or gzip text with header lines, an
AWS-delivered Parquet object (read by column name), or a CloudWatch Logs export
as printed by 'aws logs filter-log-events' (each message is a record in --format,
else the configured or default format).

A source may also be s3://BUCKET/PREFIX: the objects under it (AWS's
AWSLogs/ACCOUNT/vpcflowlogs/REGION/YYYY/MM/DD/ layout, the Hive-style
year=/month=/day=/ one, gzip text or Parquet) are listed, downloaded to
DATA/s3/staging/ and ingested under their s3:// names, which counts, the
catalog and the quarantine show. Objects done before (DATA/s3/BUCKET.manifest
and the catalog agree) are neither downloaded nor read again. --since or
--from/--to choose objects by the date in their keys and list only those date
folders, so a week of a year-old bucket is a few dozen LIST requests.
Credentials come from the standard AWS chain (environment, ~/.aws, SSO,
instance or container role); flowlens reaches the network only for s3://
sources. An object that cannot be downloaded (after retries; throttling is
retried by the AWS SDK) is listed as failed, exit 1, and tried again next run;
the others are stored. See docs/s3.md.

With --engine clickhouse://HOST:8123/DB (or engine: in the configuration) the
records go to ClickHouse's flow_logs table instead of the lake, with the same
parsing, quarantine (a table there), counts and idempotency; a file that grew or
changed since it was ingested is refused there. See docs/clickhouse.md.

Ingest is atomic and idempotent: data files appear only through a durable catalog
commit, an interrupted ingest is finished or rolled back by the next one, and
sources already ingested (same path and content, or the same content elsewhere)
are skipped. A file that grew since it was ingested is read from the next line; a
file whose content changed otherwise is refused (AWS never rewrites objects).
Lines that are not valid records go to DATA/quarantine/ with their source, line
number, text and reason. Every run ends with
  read = stored + quarantined + already ingested
and -o json prints those counts as one object. Exits 3 when a changed source was
refused, or with --strict when anything was quarantined; 1 when a source could
not be opened (the others are still stored).

` + exitCodesHelp,
		Example: `  # An 'aws s3 sync' copy of a flow-log bucket
  flowlens ingest ./AWSLogs/

  # A CloudWatch export in a custom format, failing on any bad line
  aws logs filter-log-events --log-group-name vpc-flow > export.json
  flowlens ingest --strict --format '${version} ${srcaddr} ${dstaddr} ${action}' export.json

  # Counts for a script
  flowlens ingest -o json 'logs/*.log.gz'

  # Straight from the flow-log bucket: the last week, then every hour from cron
  flowlens ingest --since 7d s3://my-flow-logs/AWSLogs/123456789012/vpcflowlogs/
  flowlens ingest --since 2h s3://my-flow-logs/AWSLogs/

  # Into ClickHouse instead of the lake (scale-out)
  flowlens ingest --engine clickhouse://127.0.0.1:8123/flowlens ./AWSLogs/

  # An S3-compatible service (MinIO, SeaweedFS, Ceph) with a profile
  flowlens ingest --s3-endpoint http://127.0.0.1:8333 --s3-path-style --s3-profile lab s3://flow-logs/`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runIngest(cmd, args, formatFlag, strict, retain, engineSpec, ingest.Options{Workers: workers, TxnBytes: txnBytes, FileRows: fileRows}, &s3f)
		},
	}
	cmd.Flags().StringVar(&formatFlag, "format", "", "record format of lines without a header: '${version} ${srcaddr} …', v2…v11 (every field up to that version), or auto to guess AWS's documented layouts from the number of values (default: the config's format, else AWS's v2 format)")
	cmd.Flags().BoolVar(&strict, "strict", false, "exit 3 when any line was quarantined")
	cmd.Flags().StringVar(&retain, "retain", "", "after ingesting, delete partitions older than this age: 90d, 2w (default: the config's retention)")
	cmd.Flags().IntVar(&workers, "workers", 0, "sources parsed at once (default: the number of CPUs)")
	cmd.Flags().Int64Var(&txnBytes, "txn-bytes", 0, "commit after about this many source bytes (default 1 GiB)")
	cmd.Flags().IntVar(&fileRows, "file-rows", 0, "rows per data file (default 1048576)")
	cmd.Flags().StringVar(&engineSpec, "engine", "", "where to store the records: the lake (default), or clickhouse://HOST:8123/DB (docs/clickhouse.md) (default: the config's engine)")
	s3f.register(cmd)
	cmd.Flags().MarkHidden("txn-bytes")
	cmd.Flags().MarkHidden("file-rows")
	return cmd
}

func runIngest(cmd *cobra.Command, args []string, formatFlag string, strict bool, retain, engineSpec string, o ingest.Options, s3f *s3Flags) error {
	dir, err := g.dataDir()
	if err != nil {
		return err
	}
	if formatFlag == "" {
		formatFlag = g.cfg.Format
	}
	o.Retain, o.MemoryLimit = time.Duration(g.cfg.Retention), 640<<20
	if os.Getenv("GOMEMLIMIT") != "" {
		o.MemoryLimit = 0
	}
	so, err := scanOptions(cmd, formatFlag)
	if err != nil {
		return err
	}
	o.Format, o.Guess = so.Format, so.Guess
	if retain != "" {
		d, err := config.ParseDuration(retain)
		if err != nil {
			return usageErrorf("--retain: %v", err)
		}
		o.Retain = d
	}
	local, remote := splitS3(args)
	if n := s3f.used(cmd); n != "" && len(remote) == 0 {
		return usageErrorf("--%s applies to s3:// sources only", n)
	}
	if engineSpec == "" {
		engineSpec = g.cfg.Engine
	}
	toClickHouse := strings.HasPrefix(engineSpec, "clickhouse://")
	if toClickHouse {
		switch {
		case len(remote) > 0:
			return usageErrorf("--engine clickhouse: s3:// sources go to the lake only; sync the bucket ('aws s3 sync') and ingest the folder")
		case retain != "":
			return usageErrorf("--retain applies to the lake; on ClickHouse, set a TTL on flow_logs (docs/clickhouse.md)")
		}
	} else if engineSpec != "" && engineSpec != "duckdb" {
		return usageErrorf("--engine %s: ingest stores into the lake (duckdb) or clickhouse://…", engineSpec)
	}
	var files []string
	if len(local) > 0 {
		if files, err = source.Expand(local); err != nil {
			return &exitError{code: exitFailure, err: err}
		}
	}
	o.Wait = func(pid int) {
		noticef("waiting for the data folder %s, locked by process %d (another ingest?)", dir, pid)
	}
	var bar *ingestBar
	if g.stderrIsTerminal() {
		bar = &ingestBar{}
		o.Progress = bar
	}
	var res *ingest.Result
	var s3st *s3Stats
	if len(remote) > 0 {
		res, s3st, err = ingestS3(cmd.Context(), dir, files, remote, o, s3f, bar)
		var ee *exitError
		if errors.As(err, &ee) {
			return err
		}
	} else if toClickHouse {
		res, err = ingestClickHouse(cmd.Context(), engineSpec, files, o)
	} else {
		res, err = ingest.Run(cmd.Context(), dir, files, o)
	}
	if res == nil {
		return &exitError{code: exitFailure, err: err}
	}
	if bar != nil {
		bar.Finish()
	}
	if r := res.Recovery; !r.Empty() {
		noticef("recovered interrupted ingests: %d committed transactions published, %d uncommitted rolled back", len(r.RolledForward), len(r.RolledBack))
	}
	for _, n := range res.Notes {
		noticef("note: %s", n)
	}
	for _, s := range slices.Concat(res.Grown, res.Reread) {
		noticef("%s: %s", s.Path, s.Reason)
	}
	for _, s := range res.Broken {
		fmt.Fprintf(g.stderr, "%s: %s\n", s.Path, s.Reason)
	}
	for _, s := range res.Changed {
		fmt.Fprintf(g.stderr, "%s: %s\n", s.Path, s.Reason)
	}
	for _, s := range res.Failed {
		fmt.Fprintf(g.stderr, "%s: %s (not ingested; will be tried again)\n", s.Path, s.Reason)
	}
	if res.Retained != nil && res.Retained.Files > 0 {
		noticef("retention: deleted %d partitions before %s (%d records)", res.Retained.Partitions, res.Retained.Cutoff, res.Retained.Records)
	}
	if format := g.outputFormat("text"); format == "json" || format == "ndjson" {
		var v any = res.Counts
		if s3st != nil {
			v = s3IngestJSON{res.Counts, *s3st}
		}
		if jerr := lakeJSON(v); jerr != nil && err == nil {
			err = jerr
		}
	} else {
		if toClickHouse {
			printIngestSummary(res, "ClickHouse", "ClickHouse's flow_quarantine table")
		} else {
			printIngestSummary(res, fmt.Sprintf("%d files", res.Files), dir+"/quarantine/")
		}
		if s3st != nil {
			printS3Summary(s3st)
		}
	}
	switch {
	case err != nil:
		return &exitError{code: exitFailure, err: err}
	case len(res.Failed) > 0:
		return &exitError{code: exitFailure, err: fmt.Errorf("%d sources could not be read", len(res.Failed))}
	case len(res.Changed) > 0:
		return &exitError{code: exitPartial, err: fmt.Errorf("%d changed sources refused", len(res.Changed))}
	case strict && res.RecordsQuarantined > 0:
		return &exitError{code: exitPartial, err: fmt.Errorf("--strict: %d lines quarantined in %s", res.RecordsQuarantined, dir+"/quarantine/")}
	}
	return nil
}

// printIngestSummary prints the counts; into names where the records went and
// quarantine where the bad lines are.
func printIngestSummary(res *ingest.Result, into, quarantine string) {
	c := res.Counts
	w := g.stdout
	switch {
	case c.Sources == 0 && len(res.Skipped) > 0 && len(res.Changed) == 0 && len(res.Failed) == 0:
		fmt.Fprintf(w, "nothing new: all %d sources were already ingested\n", len(res.Skipped))
	default:
		fmt.Fprintf(w, "ingested %d sources (%s) in %.1fs into %s", c.Sources, humanBytes(c.BytesRead), c.Seconds, into)
		if n := len(res.Skipped); n > 0 {
			fmt.Fprintf(w, "; skipped %d already ingested", n)
		}
		if n := len(res.Changed); n > 0 {
			what := "sources"
			if n == 1 {
				what = "source"
			}
			fmt.Fprintf(w, "; refused %d changed %s", n, what)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "read %d = stored %d + quarantined %d + already ingested %d\n", c.RecordsRead, c.RecordsStored, c.RecordsQuarantined, c.RecordsSkipped)
	if c.RecordsQuarantined > 0 {
		fmt.Fprintf(w, "quarantined lines are in %s\n", quarantine)
	}
}

// ingestBar draws ingest progress on stderr: bytes of the sources (with rate
// and ETA) and records read.
type ingestBar struct {
	once    sync.Once
	bar     *progressbar.ProgressBar
	records atomic.Int64
	last    atomic.Int64 // unix nanos of the last description update
	start   time.Time
}

func (b *ingestBar) Start(total int64) {
	b.start = time.Now()
	b.bar = progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(g.stderr),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionSetDescription("0 records"),
		progressbar.OptionClearOnFinish(),
	)
}

func (b *ingestBar) Add(bytes, records int64) {
	n := b.records.Add(records)
	now := time.Now()
	if last := b.last.Load(); now.UnixNano()-last > int64(200*time.Millisecond) && b.last.CompareAndSwap(last, now.UnixNano()) {
		rate := float64(n) / max(now.Sub(b.start).Seconds(), 1e-3)
		b.bar.Describe(fmt.Sprintf("%d records (%.0f/s)", n, rate))
	}
	b.bar.Add64(bytes)
}

func (b *ingestBar) Finish() {
	b.once.Do(func() {
		if b.bar != nil {
			b.bar.Finish()
		}
	})
}
