package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowlens/flowlens/engine/clickhouse/chtest"
	"github.com/flowlens/flowlens/ingest"
)

func TestClickHouseQueryAndDetect(t *testing.T) {
	spec := chtest.Spec(t)
	file := writeFile(t, "flows.log", []byte(queryLines))
	res, err := ingestClickHouse(t.Context(), spec, []string{file}, ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.RecordsStored != 4 || res.RecordsRead != 4 {
		t.Fatalf("ingest: %+v", res.Counts)
	}
	rules := t.TempDir()
	rule := `id: ch-rejects
title: "Rejected flows from {src}"
category: port-scan
severity: medium
mitre: [T1046]
description: Rejected flows of one source, in SQL that DuckDB and ClickHouse both read.
window:
  size: 1d
  mode: tumbling
query: |
  SELECT srcaddr AS src, count(*) AS rejects, min(start) AS first_seen, max("end") AS last_seen
  FROM vpc_flow_logs
  WHERE action = 'REJECT' AND start >= {{from}} AND start < {{to}}
  GROUP BY srcaddr, {{bucket}}
  HAVING count(*) >= 2
group-by: [src]
`
	if err := os.WriteFile(filepath.Join(rules, "ch-rejects.yaml"), []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		code int
		out  string // in stdout
		err  string // in stderr
	}{
		{[]string{"query", "--engine", spec, "-o", "csv", `filter action = "REJECT" | stats count(*) as n by srcaddr`}, 0, "srcaddr,n\n203.0.113.7,2\n", ""},
		{[]string{"query", "--engine", spec, "-o", "csv", "SELECT year, month, day, count(*) AS n FROM vpc_flow_logs GROUP BY year, month, day ORDER BY day"}, 0,
			"year,month,day,n\n2024,03,01,1\n2024,03,02,2\n2024,03,03,1\n", ""},
		{[]string{"query", "--engine", spec, "-o", "csv", "--from", "2024-03-02T00:00:00Z", "--to", "2024-03-03T00:00:00Z", "SELECT count(*) AS n FROM flows"}, 0, "n\n2\n", ""},
		{[]string{"query", "--engine", spec, "SELECT srcaddr, dstaddr, sum(bytes) AS b FROM vpc_flow_logs GROUP BY srcaddr"}, 2, "", "dstaddr must appear in GROUP BY"},
		{[]string{"query", "--engine", spec, "DROP TABLE flow_logs"}, 2, "", "only a SELECT"},
		// The built-in pack is DuckDB SQL: on 18.16 its rules fail one by
		// one, each error at its rule file's line (docs/clickhouse.md).
		{[]string{"detect", "--engine", spec, "--no-state", "--from", "2024-03-01T00:00:00Z", "--to", "2024-03-04T00:00:00Z", "-o", "ndjson"}, 1, "",
			"port-scan-vertical.yaml:32:20: rule port-scan-vertical: Unknown function TRY_CAST"},
		// A rule in SQL both engines read runs on ClickHouse, beside them.
		{[]string{"detect", "--engine", spec, "--no-state", "--rules", rules, "--from", "2024-03-01T00:00:00Z", "--to", "2024-03-04T00:00:00Z", "-o", "ndjson"}, 1,
			`"rule":"ch-rejects","category":"port-scan","severity":"medium","title":"Rejected flows from 203.0.113.7","src":"203.0.113.7"`, "15 rules, 1 alerts"},
	}
	for _, tt := range tests {
		code, out, errs := runCLI(t, "", tt.args...)
		if code != tt.code || !strings.Contains(out, tt.out) || !strings.Contains(errs, tt.err) {
			t.Errorf("%v: exit %d\nstdout %q\nstderr %q\nwant exit %d, %q, %q", tt.args, code, out, errs, tt.code, tt.out, tt.err)
		}
	}
}

// TestIngestEngineClickHouse: flowlens ingest --engine clickhouse://… stores
// into ClickHouse with the usual counts, skips what it already has, and says
// what it cannot do there.
func TestIngestEngineClickHouse(t *testing.T) {
	spec := chtest.Spec(t)
	file := writeFile(t, "flows.log", []byte(queryLines+"2 123456789012 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 40 1709280000 1709280060 ACCEPT\n"))
	data := t.TempDir()
	grown := filepath.Join(t.TempDir(), "grown.log")
	tests := []struct {
		args []string
		code int
		out  string // in stdout
		err  string // in stderr
	}{
		{[]string{"ingest", "--data", data, "--engine", spec, file}, 0,
			"into ClickHouse\nread 5 = stored 4 + quarantined 1 + already ingested 0\nquarantined lines are in ClickHouse's flow_quarantine table\n", ""},
		{[]string{"ingest", "--data", data, "--engine", spec, file}, 0, "read 5 = stored 0 + quarantined 0 + already ingested 5", ""},
		{[]string{"query", "--engine", spec, "-o", "csv", "SELECT count(*) AS n FROM vpc_flow_logs"}, 0, "n\n4\n", ""},
		// A file that grew is refused, not read whole again.
		{[]string{"ingest", "--data", data, "--engine", spec, grown}, 3, "refused 1 changed source", "grew since it was ingested"},
		{[]string{"query", "--engine", spec, "-o", "csv", "SELECT count(*) AS n FROM vpc_flow_logs"}, 0, "n\n8\n", ""},
		{[]string{"ingest", "--data", data, "--engine", spec, "--retain", "90d", file}, 2, "", "--retain applies to the lake"},
		{[]string{"ingest", "--data", data, "--engine", spec, "s3://bucket/AWSLogs/"}, 2, "", "s3:// sources go to the lake only"},
		{[]string{"ingest", "--data", data, "--engine", "postgres://x", file}, 2, "", "ingest stores into the lake (duckdb) or clickhouse://"},
	}
	for i, tt := range tests {
		if i == 3 {
			// grown.log: four records of another interface, ingested, then grown.
			lines := strings.ReplaceAll(queryLines, "eni-01", "eni-02")
			os.WriteFile(grown, []byte(lines), 0o644)
			if code, out, errs := runCLI(t, "", "ingest", "--data", data, "--engine", spec, grown); code != 0 || !strings.Contains(out, "stored 4") {
				t.Fatalf("ingest %s: exit %d\n%s%s", grown, code, out, errs)
			}
			os.WriteFile(grown, []byte(lines+strings.SplitAfter(queryLines, "\n")[0]), 0o644)
		}
		code, out, errs := runCLI(t, "", tt.args...)
		if code != tt.code || !strings.Contains(out, tt.out) || !strings.Contains(errs, tt.err) {
			t.Errorf("%v: exit %d\nstdout %q\nstderr %q\nwant exit %d, %q, %q", tt.args, code, out, errs, tt.code, tt.out, tt.err)
		}
	}
	if _, err := os.Stat(filepath.Join(data, "lake")); !os.IsNotExist(err) {
		t.Errorf("ingest --engine clickhouse touched the lake: %v", err)
	}
}
