package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/flowlens/flowlens/gen"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

func init() { register(newGenCmd) }

type genOptions struct {
	out, start, format, layout, truth, threatList, scenarios string
	records                                                  int64
	seed                                                     uint64
	hours                                                    float64
}

func newGenCmd() *cobra.Command {
	var o genOptions
	cmd := &cobra.Command{
		Use:   "gen --out DIR --records N [flags]",
		Short: "Generate synthetic VPC flow logs with labelled attacks",
		Long: `Gen writes synthetic AWS VPC Flow Logs for a multi-account estate (three
accounts, two Regions, three VPCs, about 290 network interfaces: load balancers,
NAT gateways, web/app/database tiers, ECS tasks) with realistic benign traffic
and attacks in every detection category, and a truth file that labels them.

Layouts (--layout):
  s3          AWS's S3 delivery: AWSLogs/{account}/vpcflowlogs/{region}/{yyyy}/{mm}/{dd}/
              {account}_vpcflowlogs_{region}_{flow-log-id}_{yyyyMMddTHHmmZ}_{hash}.log.gz,
              one gzip object per 5-minute window and flow log, header line first
  cloudwatch  one file per log stream (eni-…-all.json) holding what
              'aws logs filter-log-events' prints for it
  flat        one text file with a header line; --out is the file (gzip when it
              ends in .gz), or a folder that gets flowlogs.log

Formats (--format): v2 (AWS's default), v3, v4, v5 (default: every field of
versions 2 to 5), v7, v8, v9, v10, v11, or any '${field} …' string.

Scenarios (--scenarios): all (default), none, or a comma-separated list of
port-scan, port-sweep, brute-force, data-exfiltration, crypto-mining,
lateral-movement, c2-beaconing, threat-intel, exposed-service, rejected-spike,
unusual-port, flow-log-health. Each attack writes one line to --truth:
{"category","src","dst","start","end"}. See docs/gen.md for every scenario.

The same flags give byte-identical output on any machine.

` + exitCodesHelp,
		Example: `  # One day, 2 million records, in AWS's S3 layout, with the truth and a threat list
  flowlens gen --out ./bucket --records 2000000 --truth truth.ndjson --threat-list threats.txt

  # A CloudWatch export of two hours starting at a given time
  flowlens gen --out ./cw --layout cloudwatch --records 100000 --hours 2 --start 2024-03-05T08:00:00Z

  # One gzip file in AWS's default format, benign traffic only
  flowlens gen --out flows.log.gz --layout flat --format v2 --scenarios none

  # Only scans, in a custom format
  flowlens gen --out ./scans --scenarios port-scan,port-sweep --format '${srcaddr} ${dstaddr} ${dstport} ${action}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGen(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.out, "out", "", "output folder (s3, cloudwatch) or file (flat)")
	f.Int64Var(&o.records, "records", gen.DefaultRecords, "number of records")
	f.Uint64Var(&o.seed, "seed", gen.DefaultSeed, "random seed: the estate, the traffic and the attack times")
	f.StringVar(&o.start, "start", gen.DefaultStart.Format(time.RFC3339), "first record time, RFC 3339 or Unix seconds (rounded down to 5 minutes)")
	f.Float64Var(&o.hours, "hours", gen.DefaultHours, "hours of traffic")
	f.StringVar(&o.format, "format", "v5", "record format: v2, v5, v8 (any of v2–v5, v7–v11) or '${field} …'")
	f.StringVar(&o.layout, "layout", "s3", "layout: s3, cloudwatch or flat")
	f.StringVar(&o.truth, "truth", "", "write the labelled attacks here (NDJSON)")
	f.StringVar(&o.threatList, "threat-list", "", "write a threat list (IPs and CIDRs with comments and decoys) here")
	f.StringVar(&o.scenarios, "scenarios", "all", "attack categories: all, none or a comma-separated list")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func runGen(ctx context.Context, o genOptions) error {
	cfg := gen.Config{Records: o.records, Seed: o.seed, Hours: o.hours, Layout: gen.Layout(o.layout)}
	if o.records <= 0 {
		return usageErrorf("--records %d: expected a positive number", o.records)
	}
	if o.hours <= 0 {
		return usageErrorf("--hours %v: expected more than 0", o.hours)
	}
	switch cfg.Layout {
	case gen.LayoutS3, gen.LayoutCloudWatch, gen.LayoutFlat:
	default:
		return usageErrorf("--layout %q: expected s3, cloudwatch or flat", o.layout)
	}
	start, err := parseTime(o.start)
	if err != nil {
		return usageErrorf("--start %q: %v", o.start, err)
	}
	cfg.Start = start
	if cfg.Format, err = gen.ParseFormat(o.format); err != nil {
		return usageErrorf("--format: %v", err)
	}
	for _, n := range cfg.Format.Notes {
		noticef("note: %s", n)
	}
	if cfg.Scenarios, err = gen.ParseScenarios(o.scenarios); err != nil {
		return usageErrorf("--scenarios: %v", err)
	}

	var bar *progressbar.ProgressBar
	if g.stderrIsTerminal() {
		total, err := gen.Expected(cfg)
		if err != nil {
			return usageErrorf("%v", err)
		}
		bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(g.stderr),
			progressbar.OptionSetDescription("generating"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("records"),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish())
		cfg.Progress = func(n int64) { _ = bar.Set64(n) }
	}
	sum, err := gen.Generate(ctx, cfg, o.out)
	if bar != nil {
		_ = bar.Finish()
	}
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	if o.truth != "" {
		if err := genWriteFile(o.truth, func(f *os.File) error { return gen.WriteTruth(f, sum.Truth) }); err != nil {
			return &exitError{code: exitFailure, err: err}
		}
	}
	if o.threatList != "" {
		if err := genWriteFile(o.threatList, func(f *os.File) error { return gen.WriteThreatList(f, cfg) }); err != nil {
			return &exitError{code: exitFailure, err: err}
		}
	}
	if !g.quiet {
		fmt.Fprintf(g.stderr, "generated %d records in %d files (%s) in %.2f s: %.0f records/s\n",
			sum.Records, sum.Files, humanBytes(sum.Bytes), sum.Elapsed.Seconds(), sum.RecordsPerSecond())
		fmt.Fprintf(g.stderr, "estate: %d accounts, %d VPCs, %d interfaces; %s to %s; %d labelled attacks\n",
			sum.Accounts, sum.VPCs, sum.Interfaces, sum.Start.Format(time.RFC3339), sum.End.Format(time.RFC3339), len(sum.Truth))
	}
	return nil
}

// genWriteFile creates path (and its folder) and fills it with fn.
func genWriteFile(path string, fn func(*os.File) error) error {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create folder for %s: %w", path, err)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := fn(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}
