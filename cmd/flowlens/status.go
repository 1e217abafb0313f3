package main

import (
	"fmt"
	"time"

	"github.com/flowlens/flowlens/lake"
	"github.com/spf13/cobra"
)

func init() { register(newStatusCmd) }

func newStatusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Summarise the lake: partitions, files, records, bytes, time range",
		Long: `Status reads the lake's catalog and prints its partitions (UTC days), data files,
records, bytes on disk, the time range of the records' start, the number of
ingested source objects, the number of quarantined lines and the last ingest.
It does not lock the data folder, so it works while an ingest runs (and shows the
last committed state).`,
		Example: `  flowlens status
  flowlens status -o json | jq .records`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := g.dataDir()
			if err != nil {
				return err
			}
			s, err := lake.StatusOf(dir)
			if err != nil {
				return &exitError{code: exitFailure, err: err}
			}
			format := g.outputFormat("table")
			if format == "json" || format == "ndjson" {
				return lakeJSON(s)
			}
			if format == "text" {
				format = "table"
			}
			rs := &resultSet{Columns: []string{"property", "value"}}
			add := func(k string, v any) { rs.Rows = append(rs.Rows, []any{k, v}) }
			add("data", dir)
			add("partitions", s.Partitions)
			add("files", s.Files)
			add("records", s.Records)
			add("bytes", fmt.Sprintf("%d (%s)", s.Bytes, humanBytes(s.Bytes)))
			if s.Files > 0 {
				add("days", s.FirstDay+" to "+s.LastDay)
				add("first start", time.Unix(s.MinStart, 0).UTC().Format(time.RFC3339))
				add("last start", time.Unix(s.MaxStart, 0).UTC().Format(time.RFC3339))
			}
			add("sources", s.Sources)
			add("quarantined", s.Quarantined)
			if !s.LastIngest.IsZero() {
				add("last ingest", s.LastIngest.Format(time.RFC3339))
			}
			return writeResult(g.stdout, format, rs)
		},
	}
}
