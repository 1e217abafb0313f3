package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/flowlens/flowlens/config"
	"github.com/flowlens/flowlens/lake"
	"github.com/spf13/cobra"
)

func init() { register(newLakeCmd) }

func newLakeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lake",
		Short: "Maintain the Parquet lake: compact, retain, verify",
		Long: `The lake is DATA/lake/vpc_flow_logs/year=YYYY/month=MM/day=DD/*.parquet, with its
catalog in DATA/catalog.json. These commands change it through the same atomic
transactions as ingest, holding the data folder's lock (they wait for a running
ingest to finish). See docs/lake.md.`,
		Example: `  flowlens lake compact
  flowlens lake retain --keep 90d
  flowlens lake verify --repair`,
	}
	cmd.AddCommand(newLakeCompactCmd(), newLakeRetainCmd(), newLakeVerifyCmd())
	return cmd
}

// openLake opens the data folder's lake for a maintenance command.
func openLake(cmd *cobra.Command, o lake.OpenOptions) (*lake.Lake, error) {
	dir, err := g.dataDir()
	if err != nil {
		return nil, err
	}
	o.Wait = func(pid int) {
		noticef("waiting for the data folder %s, locked by process %d", dir, pid)
	}
	l, err := lake.Open(cmd.Context(), dir, o)
	if err != nil {
		return nil, &exitError{code: exitFailure, err: err}
	}
	if r := l.Recover; !r.Empty() {
		noticef("recovered interrupted transactions: %d published, %d rolled back", len(r.RolledForward), len(r.RolledBack))
	}
	return l, nil
}

// lakeJSON writes v as one JSON object.
func lakeJSON(v any) error {
	enc := json.NewEncoder(g.stdout)
	return enc.Encode(v)
}

func newLakeCompactCmd() *cobra.Command {
	var target int
	cmd := &cobra.Command{
		Use:   "compact",
		Short: "Merge the small files of each partition",
		Long: `Compact merges, partition by partition, the files with fewer than half the target
number of rows into files of about the target size, sorted like every data file,
in one transaction: readers see the old files or the new ones, never both.`,
		Example: `  flowlens lake compact
  flowlens lake compact --target-rows 2000000 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := openLake(cmd, lake.OpenOptions{})
			if err != nil {
				return err
			}
			defer l.Close()
			rep, err := l.Compact(lake.CompactOptions{TargetRows: target})
			if err != nil {
				return &exitError{code: exitFailure, err: fmt.Errorf("compact: %w", err)}
			}
			if f := g.outputFormat("text"); f == "json" || f == "ndjson" {
				return lakeJSON(rep)
			}
			if rep.Merged == 0 {
				fmt.Fprintln(g.stdout, "nothing to compact")
				return nil
			}
			fmt.Fprintf(g.stdout, "compacted %d partitions: %d files merged into %d (%d records)\n", rep.Partitions, rep.Merged, rep.Written, rep.Records)
			return nil
		},
	}
	cmd.Flags().IntVar(&target, "target-rows", lake.DefaultFileRows, "rows per merged file")
	return cmd
}

func newLakeRetainCmd() *cobra.Command {
	var keep string
	cmd := &cobra.Command{
		Use:   "retain --keep AGE",
		Short: "Delete partitions older than an age",
		Long: `Retain deletes every partition (UTC day) that ended more than AGE ago, in one
transaction. AGE is like 90d, 2w or 36h; without --keep it is the configuration's
retention key. Ingested sources stay in the catalog, so ingesting the same
objects again does not bring the deleted records back. Ingest applies the
configured retention after each run by itself.`,
		Example: `  flowlens lake retain --keep 90d
  flowlens lake retain            # uses retention: from the config file`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			age := time.Duration(g.cfg.Retention)
			if keep != "" {
				d, err := config.ParseDuration(keep)
				if err != nil {
					return usageErrorf("--keep: %v", err)
				}
				age = d
			}
			if age <= 0 {
				return usageErrorf("give --keep AGE (such as 90d), or set retention in the configuration")
			}
			l, err := openLake(cmd, lake.OpenOptions{})
			if err != nil {
				return err
			}
			defer l.Close()
			rep, err := l.Retain(age, time.Now())
			if err != nil {
				return &exitError{code: exitFailure, err: fmt.Errorf("retain: %w", err)}
			}
			if f := g.outputFormat("text"); f == "json" || f == "ndjson" {
				return lakeJSON(rep)
			}
			fmt.Fprintf(g.stdout, "kept partitions from %s: deleted %d partitions, %d files, %d records\n", rep.Cutoff, rep.Partitions, rep.Files, rep.Records)
			return nil
		},
	}
	cmd.Flags().StringVar(&keep, "keep", "", "keep partitions younger than this age: 90d, 2w, 36h (default: the config's retention)")
	return cmd
}

func newLakeVerifyCmd() *cobra.Command {
	var repair bool
	cmd := &cobra.Command{
		Use:   "verify [--repair]",
		Short: "Check that the catalog and the files agree",
		Long: `Verify checks that no transaction was interrupted, that every file the catalog
names is in its partition folder with its size, a readable footer and its row
count, and that the partition folders hold no other file.

With --repair it finishes committed transactions and rolls back uncommitted ones,
moves orphans and damaged files to DATA/orphans/, and drops missing or damaged
files from the catalog (saying how many records they held). Exits 1 when
problems remain.`,
		Example: `  flowlens lake verify
  flowlens lake verify --repair -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := openLake(cmd, lake.OpenOptions{NoRecover: true})
			if err != nil {
				return err
			}
			defer l.Close()
			rep, err := l.Verify(repair)
			if err != nil {
				return &exitError{code: exitFailure, err: fmt.Errorf("verify: %w", err)}
			}
			if f := g.outputFormat("text"); f == "json" || f == "ndjson" {
				if rep.Problems == nil {
					rep.Problems = []lake.Problem{}
				}
				if err := lakeJSON(rep); err != nil {
					return err
				}
			} else {
				for _, p := range rep.Problems {
					state := ""
					if p.Repaired {
						state = " (repaired)"
					}
					fmt.Fprintf(g.stdout, "%s: %s: %s%s\n", p.Kind, p.Path, p.Detail, state)
				}
				if len(rep.Problems) == 0 {
					fmt.Fprintf(g.stdout, "lake is consistent: %d files, %d records\n", rep.Files, rep.Records)
				}
			}
			if !rep.Clean() {
				return &exitError{code: exitFailure, err: fmt.Errorf("lake verify: %d problems (run flowlens lake verify --repair)", len(rep.Problems))}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&repair, "repair", false, "finish interrupted transactions and move orphans aside")
	return cmd
}
