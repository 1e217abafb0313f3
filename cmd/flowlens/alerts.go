package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flowlens/flowlens/alert"
	"github.com/flowlens/flowlens/config"
	"github.com/spf13/cobra"
)

func init() { register(newAlertsCmd) }

func newAlertsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "List, acknowledge and suppress alerts; check the alert sinks",
		Long: `Alerts manages the alert state kept in the data folder (DATA/alerts/state.json).

Detections record alerts there: the same incident found again (same rule, source and
target, within the rule's suppression window) updates one alert's last_seen, count
and evidence instead of raising a new one. Each alert is open, acked or suppressed:
an acked alert that fires again within its incident stays acked and is not sent
again; one that fires after its incident ended opens a new alert. Suppressions mute
matching alerts by rule, source or target (address or CIDR), forever or until a
time; muted alerts are still recorded, never sent.

Sinks (stdout, file, webhook, slack, sns, syslog) are configured under alerts.sinks
in the configuration file; see docs/alerts.md. What a sink has not taken (it was down)
stays owed to it: every later detect sends it again, oldest first; 'alerts pending'
lists it and 'alerts redeliver' sends it now.`,
		Example: `  flowlens alerts list
  flowlens alerts list --status all --severity high --since 24h -o ndjson
  flowlens alerts ack a-3f9c2e1b --note "pentest, ticket SEC-42"
  flowlens alerts suppress --src 10.0.8.0/24 --for 7d --note "vulnerability scanner"
  flowlens alerts test-sinks
  flowlens alerts pending -o table
  flowlens alerts redeliver`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newAlertsListCmd(), newAlertsAckCmd(), newAlertsUnackCmd(), newAlertsSuppressCmd(), newAlertsTestSinksCmd(),
		newAlertsPendingCmd(), newAlertsRedeliverCmd())
	return cmd
}

// idUsage makes an error about a user-given id a usage error (exit 2).
func idUsage(err error) error {
	var ie *alert.IDError
	if errors.As(err, &ie) {
		return &exitError{code: exitUsage, err: err}
	}
	return err
}

func openAlertStore() (*alert.Store, error) {
	dir, err := g.dataDir()
	if err != nil {
		return nil, err
	}
	return alert.OpenStore(dir)
}

// currentUser names who acks or suppresses: $USER, else the OS account.
func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}

// alertsSince reads --since: a duration back from now (24h, 7d) or a time
// (RFC 3339, a UTC day such as 2024-03-01, or Unix seconds).
func alertsSince(s string, now time.Time) (time.Time, error) {
	if t, err := parseTime(s); err == nil {
		return t, nil
	}
	d, err := config.ParseDuration(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--since %q: expected a duration such as 24h or 7d, or a time (RFC 3339, a UTC day such as 2024-03-01, or Unix seconds)", s)
	}
	return now.Add(-d), nil
}

func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// writeAlerts prints alerts: ndjson one alert object per line (the shape of
// DESIGN §6), json/csv/table through writeResult.
func writeAlerts(format string, as []alert.Alert) error {
	if format == "ndjson" {
		enc := json.NewEncoder(g.stdout)
		for i := range as {
			if err := enc.Encode(as[i]); err != nil {
				return err
			}
		}
		return nil
	}
	rs := &resultSet{Stats: map[string]any{"alerts": len(as)}}
	if format == "table" || format == "text" {
		rs.Columns = []string{"id", "status", "severity", "category", "src", "dst", "first_seen", "last_seen", "count", "title"}
		for _, a := range as {
			rs.Rows = append(rs.Rows, []any{a.ID, string(a.Status), a.Severity.String(), a.Category, nullText(a.Src), nullText(a.Dst),
				a.FirstSeen, a.LastSeen, a.Count, a.Title})
		}
		return writeResult(g.stdout, "table", rs)
	}
	rs.Columns = []string{"id", "rule", "category", "severity", "title", "src", "dst", "first_seen", "last_seen", "count",
		"evidence", "mitre", "key", "status", "acked_by", "acked_at", "note", "suppression"}
	for _, a := range as {
		var ev, mitre any = a.Evidence, a.MITRE
		if format == "csv" {
			ev, mitre = a.EvidenceText(), strings.Join(a.MITRE, " ")
		}
		rs.Rows = append(rs.Rows, []any{a.ID, a.Rule, a.Category, a.Severity.String(), a.Title, nullText(a.Src), nullText(a.Dst),
			a.FirstSeen, a.LastSeen, a.Count, ev, mitre, nullText(a.Key), string(a.Status), nullText(a.AckedBy), timeOrNil(a.AckedAt),
			nullText(a.Note), nullText(a.Suppression)})
	}
	return writeResult(g.stdout, format, rs)
}

func newAlertsListCmd() *cobra.Command {
	var status, severity, category, rule, since string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List alerts from the alert state, newest first",
		Long: `List prints the alerts recorded in the data folder, most recent last_seen first.

--status selects open (the default), acked, suppressed or all (several may be given,
comma-separated). --severity keeps alerts at least that severe (critical > high >
medium > low > info). --since keeps alerts whose last_seen is within a duration back
from now (24h, 7d) or after a time (RFC 3339, a UTC day such as 2024-03-01, or Unix seconds); alert times are the
flow records' times.

With -o ndjson each line is one alert in the shape of DESIGN §6 (id, rule, category,
severity, title, src, dst, first_seen, last_seen, count, evidence, mitre) plus its
state (status, acked_by, acked_at, note, suppression).`,
		Example: `  flowlens alerts list
  flowlens alerts list --status all --category port-scan
  flowlens alerts list --severity high --since 24h -o ndjson | jq .src`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var f alert.Filter
			for _, s := range strings.Split(status, ",") {
				s = strings.TrimSpace(s)
				if s == "all" {
					f.Status = nil
					break
				}
				st, err := alert.ParseStatus(s)
				if err != nil {
					return usageErrorf("--status: %v (or all)", err)
				}
				f.Status = append(f.Status, st)
			}
			if severity != "" {
				sev, err := alert.ParseSeverity(severity)
				if err != nil {
					return usageErrorf("--severity: %v", err)
				}
				f.MinSeverity = sev
			}
			if category != "" && !alert.ValidCategory(category) {
				return usageErrorf("--category %q is not one of %s", category, strings.Join(alert.Categories, ", "))
			}
			f.Category, f.Rule = category, rule
			if since != "" {
				t, err := alertsSince(since, time.Now())
				if err != nil {
					return usageErrorf("%v", err)
				}
				f.Since = t
			}
			format := g.outputFormat("ndjson")
			store, err := openAlertStore()
			if err != nil {
				return err
			}
			as, err := store.List(f)
			if err != nil {
				return err
			}
			if len(as) == 0 && !g.quiet && (format == "table" || format == "text") {
				fmt.Fprintln(g.stderr, "no alerts match")
				return nil
			}
			return writeAlerts(format, as)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&status, "status", "open", "open, acked, suppressed or all (comma-separated list allowed)")
	fl.StringVar(&severity, "severity", "", "minimum severity: critical, high, medium, low or info")
	fl.StringVar(&category, "category", "", "only this category (port-scan, brute-force, …)")
	fl.StringVar(&rule, "rule", "", "only alerts of this rule id")
	fl.StringVar(&since, "since", "", "only alerts last seen within this duration (24h, 7d) or after this time")
	return cmd
}

// printChanged reports alerts an action changed: ndjson/json as alert
// objects, otherwise one human line each.
func printChanged(verb string, as []alert.Alert) error {
	format := g.outputFormat("text")
	if format == "ndjson" || format == "json" {
		return writeAlerts("ndjson", as)
	}
	for _, a := range as {
		if _, err := fmt.Fprintf(g.stdout, "%s %s (%s %s, %s)\n", verb, a.ID, a.Rule, a.Endpoints(), a.Status); err != nil {
			return err
		}
	}
	return nil
}

func newAlertsAckCmd() *cobra.Command {
	var note, by string
	cmd := &cobra.Command{
		Use:   "ack ID...",
		Short: "Acknowledge alerts: they stay acked while their incident goes on",
		Long: `Ack marks alerts as acknowledged, recording who and when, with an optional note.
An acked alert that fires again within its incident is updated (last_seen, count)
but stays acked and is not sent to the sinks again; if the same rule fires for the
same source and target after the incident has ended, a new open alert is raised.

IDs may be abbreviated to a unique prefix of at least 4 characters. Either every
ID is acked or, if one is unknown, none is.`,
		Example: `  flowlens alerts ack a-3f9c2e1b4d5a6b7c
  flowlens alerts ack a-3f9c a-77e0 --note "known pentest, SEC-42"`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := openAlertStore()
			if err != nil {
				return err
			}
			if by == "" {
				by = currentUser()
			}
			as, err := store.Ack(args, by, note)
			if err != nil {
				return idUsage(err)
			}
			return printChanged("acked", as)
		},
	}
	cmd.Flags().StringVar(&note, "note", "", "why, for whoever reads the alert later")
	cmd.Flags().StringVar(&by, "by", "", "who acknowledges (default $USER)")
	return cmd
}

func newAlertsUnackCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "unack ID...",
		Short: "Take an acknowledgement back: the alerts are open again",
		Long: `Unack returns acked alerts to open (or to suppressed, when an active suppression
matches them). They are sent to the sinks the next time they fire.`,
		Example: `  flowlens alerts unack a-3f9c2e1b`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := openAlertStore()
			if err != nil {
				return err
			}
			as, err := store.Unack(args)
			if err != nil {
				return idUsage(err)
			}
			return printChanged("unacked", as)
		},
	}
}

func newAlertsSuppressCmd() *cobra.Command {
	var rule, src, dst, until, forDur, note, by, remove string
	var list bool
	cmd := &cobra.Command{
		Use:   "suppress (--rule R | --src IP/CIDR | --dst IP/CIDR)... [--until T | --for DUR] [--note TEXT]",
		Short: "Mute alerts by rule, source or target; list or remove suppressions",
		Long: `Suppress adds a suppression: alerts matching every given field (--rule exactly,
--src and --dst as an address or a CIDR) are recorded with status suppressed and
never sent to the sinks. Open alerts that match are muted at once. Without --until
or --for the suppression lasts until removed; once it expires, a muted incident
that fires again is reopened and sent.

--list prints every suppression; --remove ID deletes one (the alerts it muted
become open again, and are sent when they next fire).`,
		Example: `  flowlens alerts suppress --src 10.0.8.15 --for 7d --note "Nessus scanner"
  flowlens alerts suppress --rule exposed-service --dst 10.0.0.0/16 --until 2025-01-01T00:00:00Z
  flowlens alerts suppress --list
  flowlens alerts suppress --remove s-1a2b3c4d5e6f`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			matchGiven := rule != "" || src != "" || dst != "" || until != "" || forDur != ""
			if (list || remove != "") && matchGiven {
				return usageErrorf("--list and --remove take no match flags")
			}
			store, err := openAlertStore()
			if err != nil {
				return err
			}
			switch {
			case list:
				return printSuppressions(store)
			case remove != "":
				reopened, err := store.Unsuppress(remove)
				if err != nil {
					return idUsage(err)
				}
				fmt.Fprintf(g.stdout, "removed suppression %s\n", remove)
				return printChanged("reopened", reopened)
			}
			sp := alert.Suppression{Rule: rule, Note: note, CreatedBy: by}
			if sp.CreatedBy == "" {
				sp.CreatedBy = currentUser()
			}
			if src != "" {
				if sp.Src, err = alert.ParsePrefix(src); err != nil {
					return usageErrorf("--src %q: expected an IP address or CIDR: %v", src, err)
				}
			}
			if dst != "" {
				if sp.Dst, err = alert.ParsePrefix(dst); err != nil {
					return usageErrorf("--dst %q: expected an IP address or CIDR: %v", dst, err)
				}
			}
			if rule == "" && src == "" && dst == "" {
				return usageErrorf("give at least one of --rule, --src, --dst (or --list, --remove)")
			}
			switch {
			case until != "" && forDur != "":
				return usageErrorf("give --until or --for, not both")
			case until != "":
				if sp.Until, err = parseTime(until); err != nil {
					return usageErrorf("--until: %v", err)
				}
			case forDur != "":
				d, err := config.ParseDuration(forDur)
				if err != nil || d <= 0 {
					return usageErrorf("--for %q: expected a positive duration such as 12h or 7d", forDur)
				}
				sp.Until = time.Now().Add(d).UTC().Truncate(time.Second)
			}
			sp, muted, err := store.Suppress(sp)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			fmt.Fprintf(g.stdout, "suppression %s: %s\n", sp.ID, sp.String())
			return printChanged("muted", muted)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&rule, "rule", "", "rule id to mute")
	fl.StringVar(&src, "src", "", "source address or CIDR to mute")
	fl.StringVar(&dst, "dst", "", "target address or CIDR to mute")
	fl.StringVar(&until, "until", "", "expiry time (RFC 3339, a UTC day such as 2024-03-01, or Unix seconds)")
	fl.StringVar(&forDur, "for", "", "expiry as a duration from now (12h, 7d, 2w)")
	fl.StringVar(&note, "note", "", "why, for whoever reads the list later")
	fl.StringVar(&by, "by", "", "who suppresses (default $USER)")
	fl.BoolVar(&list, "list", false, "list every suppression")
	fl.StringVar(&remove, "remove", "", "remove the suppression with this id")
	return cmd
}

func printSuppressions(store *alert.Store) error {
	sps, err := store.Suppressions()
	if err != nil {
		return err
	}
	now := time.Now()
	rs := &resultSet{Columns: []string{"id", "rule", "src", "dst", "until", "active", "note", "created_by", "created_at"}}
	for _, sp := range sps {
		var src, dst any
		if sp.Src.IsValid() {
			src = sp.Src.String()
		}
		if sp.Dst.IsValid() {
			dst = sp.Dst.String()
		}
		rs.Rows = append(rs.Rows, []any{sp.ID, nullText(sp.Rule), src, dst, timeOrNil(sp.Until), sp.Active(now),
			nullText(sp.Note), nullText(sp.CreatedBy), sp.CreatedAt})
	}
	format := g.outputFormat("ndjson")
	if format == "text" {
		format = "table"
	}
	return writeResult(g.stdout, format, rs)
}

func newAlertsTestSinksCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "test-sinks",
		Short: "Send a clearly marked test alert to every configured sink",
		Long: `Test-sinks sends one test alert (rule flowlens-test, severity info, a title that
starts with TEST ALERT) to every sink under alerts.sinks in the configuration file,
whatever their min-severity, and prints each sink's result. The test alert is not
recorded in the alert state. Exit status 1 when any sink failed.`,
		Example: `  flowlens --config ./flowlens.yaml alerts test-sinks`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfgs := g.cfg.Alerts.Sinks
			path, _ := config.Path(g.config)
			if len(cfgs) == 0 {
				return &exitError{code: exitUsage, err: fmt.Errorf("no alert sinks configured in %s: add alerts.sinks (see docs/alerts.md)", path)}
			}
			d, err := alert.NewDispatcher(cmd.Context(), cfgs, alert.Env{Stdout: g.stdout})
			if err != nil {
				return &exitError{code: exitUsage, err: alert.InFile(err, path)}
			}
			results := d.Test(cmd.Context(), time.Now())
			rs := &resultSet{Columns: []string{"sink", "type", "target", "result", "ms"}}
			failed := 0
			for _, r := range results {
				res := "ok"
				if r.Err != nil {
					res, failed = r.Err.Error(), failed+1
				}
				rs.Rows = append(rs.Rows, []any{r.Sink, r.Type, r.Target, res, r.Elapsed.Milliseconds()})
			}
			format := g.outputFormat("table")
			if format == "text" {
				format = "table"
			}
			if err := writeResult(g.stdout, format, rs); err != nil {
				return err
			}
			if failed > 0 {
				return &exitError{code: exitFailure, err: errors.New(strconv.Itoa(failed) + " of " + strconv.Itoa(len(results)) + " sinks failed")}
			}
			return nil
		},
	}
}

// openOutbox opens the alert store and the configured sinks; a wrong sink
// is a usage error placed in the configuration file.
func openOutbox(cmd *cobra.Command) (*alert.Outbox, error) {
	store, err := openAlertStore()
	if err != nil {
		return nil, err
	}
	d, err := alert.NewDispatcher(cmd.Context(), g.cfg.Alerts.Sinks, alert.Env{Stdout: g.stdout})
	if err != nil {
		path, _ := config.Path(g.config)
		return nil, &exitError{code: exitUsage, err: alert.InFile(err, path)}
	}
	return alert.NewOutbox(store, d), nil
}

// checkSinkNames refuses --sink names that no configured sink has.
func checkSinkNames(o *alert.Outbox, names []string) error {
	var known []string
	for _, r := range o.Recipients() {
		known = append(known, r.Sink)
	}
	for _, n := range names {
		if !slices.Contains(known, n) {
			if len(known) == 0 {
				return usageErrorf("--sink %q: no sinks are configured (alerts.sinks)", n)
			}
			return usageErrorf("--sink %q is not a configured sink (sinks: %s)", n, strings.Join(known, ", "))
		}
	}
	return nil
}

func newAlertsPendingCmd() *cobra.Command {
	var sinks []string
	cmd := &cobra.Command{
		Use:   "pending [--sink NAME]... [-o table|csv|json|ndjson]",
		Short: "List the alerts still owed to each sink",
		Long: `Pending lists the deliveries still owed: alerts a sink has not taken yet because
it failed (the webhook was down, syslog refused the connection, SNS answered an
error), oldest first for each sink. The next 'flowlens detect' (or a running
detect --follow) sends them again before new ones; 'flowlens alerts redeliver'
sends them now.

Each row is one alert and one sink: kind is new, or update for a sink with
send-updates that got the alert before; owed_since is when the sink was first
owed it; attempts, last_try and error are its failed sends. note says what the
next delivery will do instead of sending it: drop it (the sink was removed from
the configuration; the alert was acked, suppressed or pruned; the sink's
min-severity or send-updates changed) or give it up (owed for longer than the
sink's give-up-after, 7 days by default).`,
		Example: `  flowlens alerts pending -o table
  flowlens alerts pending --sink soc -o ndjson | jq .alert`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := openOutbox(cmd)
			if err != nil {
				return err
			}
			ps, err := o.Pending()
			if err != nil {
				return err
			}
			format := g.outputFormat("ndjson")
			if format == "text" {
				format = "table"
			}
			rs := &resultSet{Columns: []string{"sink", "type", "alert", "kind", "severity", "rule", "src", "dst", "title",
				"owed_since", "attempts", "last_try", "error", "note"}}
			per := map[string]int{}
			var order []string
			for _, p := range ps {
				if len(sinks) > 0 && !slices.Contains(sinks, p.Sink) {
					continue
				}
				kind := "new"
				if p.Update {
					kind = "update"
				}
				var sev, rule, src, dst, title any
				if a := p.Alert; a != nil {
					sev, rule, src, dst, title = a.Severity.String(), a.Rule, nullText(a.Src), nullText(a.Dst), a.Title
				}
				rs.Rows = append(rs.Rows, []any{p.Sink, p.Type, p.Delivery.Alert, kind, sev, rule, src, dst, title,
					p.Since, p.Attempts, timeOrNil(p.LastTry), nullText(p.Error), nullText(p.Note)})
				if per[p.Sink] == 0 {
					order = append(order, p.Sink)
				}
				per[p.Sink]++
			}
			rs.Stats = map[string]any{"pending": len(rs.Rows)}
			if format == "table" && !g.quiet {
				if len(rs.Rows) == 0 {
					fmt.Fprintln(g.stderr, "nothing is owed to any sink")
					return nil
				}
				var parts []string
				for _, s := range order {
					parts = append(parts, fmt.Sprintf("%s %d", s, per[s]))
				}
				fmt.Fprintf(g.stderr, "%d deliveries owed: %s\n", len(rs.Rows), strings.Join(parts, ", "))
			}
			return writeResult(g.stdout, format, rs)
		},
	}
	cmd.Flags().StringArrayVar(&sinks, "sink", nil, "only the deliveries owed to this sink (its name); repeatable")
	return cmd
}

func newAlertsRedeliverCmd() *cobra.Command {
	var sinks []string
	cmd := &cobra.Command{
		Use:   "redeliver [--sink NAME]...",
		Short: "Send the alerts still owed to the sinks now",
		Long: `Redeliver sends every alert still owed to a sink (see 'flowlens alerts pending'),
oldest first, as the next 'flowlens detect' would, and prints each sink's result:
delivered, still owed, given up (owed for longer than the sink's give-up-after)
and dropped (no longer to be sent: the sink was removed from the configuration,
the alert was acked, suppressed or pruned). A sink that fails is not tried again
for its other alerts in the same run: they stay owed.

Delivery is at least once: a process killed after a sink took an alert and
before that was recorded sends it again next time (at most one chunk of 100
alerts per sink).

Exit status: 0 when every owed alert was delivered (or dropped), 1 when some are
still owed or were given up.`,
		Example: `  flowlens alerts redeliver
  flowlens alerts redeliver --sink soc -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := openOutbox(cmd)
			if err != nil {
				return err
			}
			if err := checkSinkNames(o, sinks); err != nil {
				return err
			}
			o.Only = sinks
			rep, err := o.Deliver(cmd.Context())
			if err != nil {
				return err
			}
			format := g.outputFormat("table")
			if format == "text" {
				format = "table"
			}
			rs := &resultSet{Columns: []string{"sink", "type", "target", "delivered", "owed", "gave_up", "dropped", "ms", "result"}}
			for _, s := range rep.Sinks {
				if len(sinks) > 0 && !slices.Contains(sinks, s.Sink) {
					continue
				}
				res := "ok"
				switch {
				case !s.Configured:
					res = "no longer configured: owed alerts dropped"
				case s.Err != nil:
					res = s.Err.Error()
				case s.Owed > 0:
					res = "left alone after failing"
				case s.GaveUp > 0:
					res = "gave up alerts owed too long"
				}
				var target any = s.Target
				if !s.Configured {
					target = nil
				}
				rs.Rows = append(rs.Rows, []any{s.Sink, s.Type, target, s.Delivered, s.Owed, s.GaveUp, s.Dropped, s.Elapsed.Milliseconds(), res})
			}
			d, owed, gaveUp, dropped := rep.Totals()
			rs.Stats = map[string]any{"delivered": d, "owed": owed, "gave_up": gaveUp, "dropped": dropped}
			if err := writeResult(g.stdout, format, rs); err != nil {
				return err
			}
			for _, n := range rep.Notes() {
				fmt.Fprintf(g.stderr, "redeliver: %s\n", n)
			}
			if rep.Failed() {
				return &exitError{code: exitFailure, err: fmt.Errorf("not every owed alert was delivered: %d still owed, %d given up (see above)", owed, gaveUp)}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&sinks, "sink", nil, "only deliver to this sink (its name); repeatable")
	return cmd
}
