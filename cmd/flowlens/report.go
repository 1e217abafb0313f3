package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowlens/flowlens/alert"
	"github.com/flowlens/flowlens/engine"
	_ "github.com/flowlens/flowlens/engine/duckdb" // the embedded engine
	"github.com/flowlens/flowlens/lake"
	"github.com/flowlens/flowlens/report"
)

func init() { register(newReportCmd) }

type reportFlags struct {
	format   string
	out      string
	top      int
	engine   string
	timeout  time.Duration
	date     string
	from, to string
	since    string
	cde      string
	reviewer string
}

const reportFormatsHelp = `Formats (-f): md (Markdown), html (one self-contained, printable file: inline
CSS and SVG charts, no external references), json (the report's numbers, raw,
with stable keys; see docs/reports.md) or text (the terminal view). The default
is text on a terminal and md elsewhere; with --out it follows the file's
extension (.md, .html, .json, .txt). --out writes the file atomically (a
temporary file renamed into place), so a reader never sees half a report.`

func newReportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Compliance (PCI DSS daily log review) and traffic reports",
		Long: `Report builds the reports that compliance and network teams otherwise assemble by
hand from Athena and CloudWatch, from queries over the lake and the alert store:

  compliance  the daily log review of PCI DSS v4.0 requirement 10.4.1: coverage,
              rejected traffic, inbound exposure, alerts, retention and integrity
              evidence, exceptions requiring follow-up, and a reviewer sign-off
  traffic     a traffic summary: volume over time, top talkers and conversations,
              ports and protocols, accept/reject share, internal vs external,
              egress by interface

` + reportFormatsHelp + `

See docs/reports.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newReportComplianceCmd(), newReportTrafficCmd())
	return cmd
}

func reportCommonFlags(cmd *cobra.Command, f *reportFlags) {
	fl := cmd.Flags()
	fl.StringVarP(&f.format, "format", "f", "", "output format: md, html, json or text (default: text on a terminal, else md, or by --out's extension)")
	fl.StringVar(&f.out, "out", "", "write the report to this file (atomically) instead of standard output")
	fl.IntVar(&f.top, "top", 10, "rows in each top-N table")
	fl.StringVar(&f.engine, "engine", "", "query engine: duckdb (embedded, the default)")
	fl.DurationVar(&f.timeout, "timeout", engine.DefaultTimeout, "stop each query after this long")
}

func newReportComplianceCmd() *cobra.Command {
	var f reportFlags
	cmd := &cobra.Command{
		Use:   "compliance [--date YYYY-MM-DD | --from DAY --to DAY] [--cde CIDR,...] [--reviewer NAME] [-f md|html|json|text] [--out FILE]",
		Short: "The daily log review of PCI DSS v4.0 requirement 10.4.1",
		Long: `Compliance reviews one UTC day of flow logs (default: yesterday) as PCI DSS v4.0
requirement 10.4.1 asks (formerly 10.6.1 in v3.2.1), quoting each requirement it
evidences (10.2.1, 10.3.2, 10.3.4, 10.4.1, 10.4.1.1, 10.4.3, 10.5.1):

  coverage     accounts, VPCs and interfaces that logged; records per hour (a
               chart); OK/NODATA/SKIPDATA counts; hours with no record at all;
               per interface, hours without a record (gaps); interfaces that
               logged in the 7 days before and went silent
  rejected     totals, top sources, destinations and ports, and the rejected
               sources that appear in no record of the 7 days before
  exposure     ACCEPTed inbound traffic from the internet to internal addresses
               by destination port, administration and database ports marked
  alerts       the alert store's alerts meeting the day, by severity, category
               and status (open, acked, suppressed)
  retention    the lake's oldest and newest partition, days available against
               10.5.1's 12 months (3 immediately available), days missing
  integrity    the day's data files against the catalog
  exceptions   everything above that needs follow-up, with a reason per row
  sign-off     reviewer name and date (blank lines unless --reviewer is given)

--from and --to review several days: a date (2024-03-01) names a whole day and
--to's day is included; RFC 3339 times must fall on midnight UTC.

--cde CIDR,... restricts the review to the cardholder data environment: records
to or from those networks and the interfaces that carry them; exposure then
means inbound from the internet to the CDE.

A day without records gives a report that says "no flow logs for this day" and
exits 0; an empty data folder likewise.

` + reportFormatsHelp + `

` + exitCodesHelp,
		Example: `  # Yesterday's review as Markdown
  flowlens report compliance > review.md

  # A given day as a printable HTML file, signed by the reviewer
  flowlens report compliance --date 2024-03-01 --reviewer "A. Auditor" --out review-2024-03-01.html

  # Only the cardholder data environment, as JSON for a GRC tool
  flowlens report compliance --date 2024-03-01 --cde 10.20.0.0/16,10.21.0.0/16 -f json

  # A week of reviews in one report
  flowlens report compliance --from 2024-03-01 --to 2024-03-07 -f html --out week.html`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runReport(cmd, &f, "compliance") },
	}
	reportCommonFlags(cmd, &f)
	fl := cmd.Flags()
	fl.StringVar(&f.date, "date", "", "the UTC day to review, YYYY-MM-DD (default: yesterday)")
	fl.StringVar(&f.from, "from", "", "first day to review (YYYY-MM-DD, or RFC 3339 at midnight UTC)")
	fl.StringVar(&f.to, "to", "", "last day to review, included (YYYY-MM-DD), or the end (RFC 3339 at midnight UTC, excluded)")
	fl.StringVar(&f.cde, "cde", "", "cardholder data environment networks, comma-separated CIDRs: review only their records")
	fl.StringVar(&f.reviewer, "reviewer", "", "the reviewer's name for the sign-off block (the date is filled in too)")
	return cmd
}

func newReportTrafficCmd() *cobra.Command {
	var f reportFlags
	cmd := &cobra.Command{
		Use:   "traffic [--since DUR | --from T --to T] [-f md|html|json|text] [--out FILE]",
		Short: "A traffic summary: volume over time, top talkers, ports, directions",
		Long: `Traffic summarises a time range of the lake: bytes, packets and records over time
(per hour, per day beyond 8 days; charts), top talkers by bytes sent, top
conversations, top protocols and destination ports (named: 6 tcp, 17 udp, 1 icmp;
443 https), the accept/reject share, internal vs external traffic (internal: RFC
1918, RFC 6598 and IPv6 unique-local networks), and egress to the internet by
interface, NAT gateways marked.

The range is --since (default 7d) or --from/--to (RFC 3339, a UTC day such as 2024-03-01, or Unix seconds).
Without either, it is the 7 days up to the lake's last record when that is more
than an hour old (imported history), else up to now.

Sums are over records as logged: traffic between two monitored interfaces is
logged by both, so it counts twice.

` + reportFormatsHelp + `

` + exitCodesHelp,
		Example: `  flowlens report traffic
  flowlens report traffic --since 24h -f html --out traffic.html
  flowlens report traffic --from 2024-03-01T00:00:00Z --to 2024-03-02T00:00:00Z -f json | jq .top_talkers`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runReport(cmd, &f, "traffic") },
	}
	reportCommonFlags(cmd, &f)
	fl := cmd.Flags()
	fl.StringVar(&f.since, "since", "", "the range ending now: 24h, 7d, 2w (default 7d)")
	fl.StringVar(&f.from, "from", "", "records that started at or after this time (RFC 3339, a UTC day such as 2024-03-01, or Unix seconds)")
	fl.StringVar(&f.to, "to", "", "records that started before this time (RFC 3339, a UTC day such as 2024-03-01, or Unix seconds)")
	return cmd
}

// reportFormat picks the output format: -f, else --out's extension, else
// the global -o when it names one, else text on a terminal and md elsewhere.
func reportFormat(f *reportFlags) (report.Format, error) {
	if f.format != "" {
		rf, err := report.ParseFormat(f.format)
		if err != nil {
			return "", usageErrorf("-f: %v", err)
		}
		return rf, nil
	}
	if f.out != "" {
		switch strings.ToLower(filepath.Ext(f.out)) {
		case ".html", ".htm":
			return report.HTML, nil
		case ".json":
			return report.JSON, nil
		case ".txt":
			return report.Text, nil
		}
		return report.Markdown, nil
	}
	switch g.output {
	case "json":
		return report.JSON, nil
	case "table", "text":
		return report.Text, nil
	}
	if isTerminal(g.stdout) {
		return report.Text, nil
	}
	return report.Markdown, nil
}

// reviewDays reads the compliance range: --date, or --from/--to, or yesterday.
func reviewDays(f *reportFlags, now time.Time) (from, to time.Time, err error) {
	readDay := func(flag, s string, end bool) (time.Time, error) {
		if d, err := time.Parse("2006-01-02", s); err == nil {
			if end {
				d = d.AddDate(0, 0, 1)
			}
			return d, nil
		}
		t, err := parseTime(s)
		if err != nil {
			return time.Time{}, usageErrorf("--%s: %q is neither a day (2024-03-01) nor a time at midnight UTC", flag, s)
		}
		if !t.Equal(t.Truncate(24 * time.Hour)) {
			return time.Time{}, usageErrorf("--%s: %s is not midnight UTC; the review covers whole days", flag, s)
		}
		return t, nil
	}
	switch {
	case f.date != "" && (f.from != "" || f.to != ""):
		return from, to, usageErrorf("--date and --from/--to do not go together")
	case f.date != "":
		d, err := time.Parse("2006-01-02", f.date)
		if err != nil {
			return from, to, usageErrorf("--date: %q is not a day such as 2024-03-01", f.date)
		}
		return d, d.AddDate(0, 0, 1), nil
	case f.from != "" || f.to != "":
		if f.from == "" || f.to == "" {
			return from, to, usageErrorf("--from and --to go together")
		}
		if from, err = readDay("from", f.from, false); err != nil {
			return
		}
		if to, err = readDay("to", f.to, true); err != nil {
			return
		}
		if !from.Before(to) {
			return from, to, usageErrorf("--from %s is after --to %s", f.from, f.to)
		}
		if to.Sub(from) > 366*24*time.Hour {
			return from, to, usageErrorf("--from %s --to %s spans more than a year; review at most 366 days at once", f.from, f.to)
		}
		return from, to, nil
	}
	today := now.UTC().Truncate(24 * time.Hour)
	return today.AddDate(0, 0, -1), today, nil
}

func runReport(cmd *cobra.Command, f *reportFlags, kind string) error {
	now := time.Now().UTC()
	format, err := reportFormat(f)
	if err != nil {
		return err
	}
	if f.top <= 0 {
		return usageErrorf("--top: %d is not a positive number of rows", f.top)
	}
	if f.timeout <= 0 {
		return usageErrorf("--timeout: %s is not a positive duration", f.timeout)
	}
	if name, _, _ := strings.Cut(f.engine, "://"); name != "" && !slices.Contains(engine.Dialects(), name) {
		return usageErrorf("--engine: unknown dialect %q (known: %s)", name, strings.Join(engine.Dialects(), ", "))
	}
	o := report.Options{Top: f.top, Now: now, Timeout: f.timeout, Reviewer: f.reviewer, Retention: time.Duration(g.cfg.Retention)}
	dataDir, err := g.dataDir()
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	if st, err := os.Stat(dataDir); err == nil && !st.IsDir() {
		return usageErrorf("the data folder %s is a file, not a folder", dataDir)
	}
	switch kind {
	case "compliance":
		if o.From, o.To, err = reviewDays(f, now); err != nil {
			return err
		}
		if f.cde != "" {
			if o.CDE, err = report.ParsePrefixes(f.cde); err != nil {
				return usageErrorf("--cde: %v", err)
			}
			if len(o.CDE) == 0 {
				return usageErrorf("--cde: no network given")
			}
		}
	default:
		qf := &queryFlags{since: f.since, from: f.from, to: f.to}
		if qf.since == "" && qf.from == "" && qf.to == "" {
			qf.since = "7d"
			if st, err := lake.StatusOf(dataDir); err == nil && st.MaxStart > 0 {
				if last := time.Unix(st.MaxStart+1, 0).UTC(); last.Before(now.Add(-time.Hour)) {
					now = last
					noticef("report: no --since or --from given: the 7 days up to the lake's last record (%s)", now.Format(time.RFC3339))
				}
			}
		}
		r, err := timeRange(qf, now)
		if err != nil {
			return err
		}
		o.From, o.To = r.From, r.To
		if o.To.IsZero() {
			o.To = now
		}
		if o.From.IsZero() {
			return usageErrorf("--to needs --from: the traffic report covers a bounded range")
		}
	}

	in := report.Inputs{TableDir: engine.LakeDir(dataDir)}
	if cat, err := lake.ReadCatalog(dataDir); err != nil {
		in.CatalogError = err
	} else if _, err := os.Stat(filepath.Join(dataDir, lake.CatalogFile)); err == nil {
		in.Catalog = cat
	}
	if st, err := os.Stat(filepath.Join(dataDir, "alerts", "state.json")); err == nil {
		store, err := alert.OpenStore(dataDir)
		if err != nil {
			return &exitError{code: exitFailure, err: err}
		}
		if in.Alerts, err = store.List(alert.Filter{}); err != nil {
			return &exitError{code: exitFailure, err: err}
		}
		in.AlertState, in.AlertStateUpdated = true, st.ModTime()
	}
	if f.engine == "" {
		lakeNotes(dataDir, engine.Range{From: o.From, To: o.To})
	}
	eng, err := engine.Open(cmd.Context(), f.engine, dataDir)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	defer eng.Close()
	if eng.Dialect() != "duckdb" {
		// The report's SQL uses DuckDB's dialect (GROUPING SETS with
		// grouping_id, list(), FILTER); ClickHouse would refuse it.
		return usageErrorf("--engine: reports run on the embedded DuckDB engine only, not on %s", eng.Dialect())
	}
	in.Engine = eng

	stop := func() {}
	if g.stderrIsTerminal() {
		stop = startSpinner(g.stderr, "building the "+kind+" report", spinnerDelay)
	}
	var rep report.Report
	if kind == "compliance" {
		rep, err = report.BuildCompliance(cmd.Context(), in, o)
	} else {
		rep, err = report.BuildTraffic(cmd.Context(), in, o)
	}
	stop()
	if err != nil {
		if qe := engine.AsError(err); qe != nil && (qe.Kind == engine.Invalid || qe.Kind == engine.Refused) {
			// The report's own SQL was refused: a bug, not the user's fault.
			return &exitError{code: exitFailure, err: fmt.Errorf("%w (please report this)", err)}
		}
		return &exitError{code: exitFailure, err: err}
	}
	if f.out == "" {
		if err := report.Write(g.stdout, format, rep); err != nil {
			return &exitError{code: exitFailure, err: fmt.Errorf("write the report: %w", err)}
		}
		return nil
	}
	if err := writeFileAtomic(f.out, func(w io.Writer) error { return report.Write(w, format, rep) }); err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	if !g.quiet {
		fmt.Fprintf(g.stderr, "report: wrote %s (%s)\n", f.out, format)
	}
	return nil
}

// writeFileAtomic writes path through a temporary file in its folder, synced
// and renamed into place, so that a reader sees the old file or the whole new
// one.
func writeFileAtomic(path string, fn func(io.Writer) error) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := fn(tmp); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	done = true
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
