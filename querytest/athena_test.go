package querytest

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/engine"
	"github.com/flowlens/flowlens/engine/duckdb"
)

// TestAthenaExamples runs the example queries of Athena's guide to querying
// VPC flow logs ("Create a table for Amazon VPC flow logs and query it") as
// written, on the date partition column and Presto's date functions. The
// last week is relative to today, so the lines are made here.
func TestAthenaExamples(t *testing.T) {
	ctx := context.Background()
	today := time.Now().UTC().Truncate(24 * time.Hour)
	day := func(d time.Time, h int) int64 { return d.Add(time.Duration(h) * time.Hour).Unix() }
	may4 := time.Date(2020, 5, 4, 0, 0, 0, 0, time.UTC) // a Monday
	line := func(eni, src, dst string, dport, proto, packets int, start int64, action string) string {
		return fmt.Sprintf("2 123456789012 %s %s %s 49152 %d %d %d %d %d %d %s OK", eni, src, dst, dport, proto, packets, packets*100, start, start+60, action)
	}
	lines := []string{
		line("eni-01", "203.0.113.9", "10.0.0.5", 22, 6, 1, day(may4, 1), "REJECT"),
		line("eni-01", "203.0.113.9", "10.0.0.5", 53, 17, 1, day(may4, 2), "REJECT"),
		line("eni-02", "198.51.100.4", "10.0.0.6", 3389, 6, 1, day(may4.AddDate(0, 0, 1), 3), "REJECT"),
		line("eni-02", "10.0.0.9", "10.0.0.6", 443, 6, 7, day(may4.AddDate(0, 0, 1), 4), "ACCEPT"),
		line("eni-03", "192.0.2.1", "10.0.0.7", 443, 6, 40, day(today.AddDate(0, 0, -1), 1), "ACCEPT"),
		line("eni-03", "192.0.2.2", "10.0.0.7", 443, 6, 2, day(today.AddDate(0, 0, -2), 1), "ACCEPT"),
		line("eni-04", "192.0.2.3", "10.0.0.8", 443, 6, 30, day(today.AddDate(0, 0, -3), 1), "ACCEPT"),
		line("eni-04", "192.0.2.3", "10.0.0.8", 443, 6, 500, day(today.AddDate(0, 0, -10), 1), "ACCEPT"),
		line("eni-04", "192.0.2.3", "10.0.0.8", 80, 6, 900, day(today.AddDate(0, 0, -1), 2), "ACCEPT"),
	}
	lake := filepath.Join(t.TempDir(), "lake", "vpc_flow_logs")
	if _, err := WriteLake(ctx, lake, strings.NewReader(strings.Join(lines, "\n")), nil); err != nil {
		t.Fatal(err)
	}
	e, err := duckdb.Open(ctx, lake, duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	tests := []struct {
		name, sql string
		cols      []string // only these columns are compared
		want      [][]string
		ordered   bool
	}{
		{"flow logs of a date", `SELECT *
FROM vpc_flow_logs
WHERE date = DATE('2020-05-04')
LIMIT 100;`, []string{"srcaddr", "dstport", "date", "day"}, [][]string{
			{"203.0.113.9", "22", "2020-05-04", "04"},
			{"203.0.113.9", "53", "2020-05-04", "04"},
		}, false},
		{"rejected TCP connections", `SELECT day_of_week(date) AS
  day,
  date,
  interface_id,
  srcaddr,
  action,
  protocol
FROM vpc_flow_logs
WHERE action = 'REJECT' AND protocol = 6
LIMIT 100;`, nil, [][]string{
			{"1", "2020-05-04", "eni-01", "203.0.113.9", "REJECT", "6"},
			{"2", "2020-05-05", "eni-02", "198.51.100.4", "REJECT", "6"},
		}, false},
		{"HTTPS servers of the last week", `SELECT SUM(packets) AS
  packetcount,
  dstaddr
FROM vpc_flow_logs
WHERE dstport = 443 AND date > current_date - interval '7' day
GROUP BY dstaddr
ORDER BY packetcount DESC
LIMIT 10;`, nil, [][]string{{"42", "10.0.0.7"}, {"30", "10.0.0.8"}}, true},
	}
	// Other Presto functions of Athena's flow-log guides that DuckDB
	// spells differently.
	tests = append(tests, struct {
		name, sql string
		cols      []string
		want      [][]string
		ordered   bool
	}{"approx_distinct and regexp_like", `SELECT approx_distinct(srcaddr) AS sources, count_if(regexp_like(srcaddr, '^192\.0\.2\.')) AS doc_net
FROM vpc_flow_logs`, nil, [][]string{{"6", "5"}}, false},
		// Presto's arbitrary returns a non-null value when there is one;
		// DuckDB's is first() and returns the first value, NULL or not.
		struct {
			name, sql string
			cols      []string
			want      [][]string
			ordered   bool
		}{"arbitrary skips NULL", `SELECT arbitrary(x) AS v, arbitrary(y) AS none FROM (VALUES (NULL, NULL), ('a', NULL), (NULL, NULL)) t(x, y)`,
			nil, [][]string{{"a", "null"}}, false},
		// element_at: an array's element (DuckDB's takes only maps), and a
		// map's value itself where DuckDB's gives a list of it.
		struct {
			name, sql string
			cols      []string
			want      [][]string
			ordered   bool
		}{"element_at of arrays and maps", `SELECT element_at(histogram(action), 'REJECT') AS rejected,
  element_at(split('10.0.1.5', '.'), 2) AS second, element_at(split('10.0.1.5', '.'), -1) AS last,
  element_at(split('10.0.1.5', '.'), 9) AS missing
FROM vpc_flow_logs`, nil, [][]string{{"3", "0", "5", "null"}}, false},
		// date_add(unit, value, timestamp), Presto's order, as Athena
		// queries write "the last week"; DuckDB's own date_add(t, interval)
		// still works.
		struct {
			name, sql string
			cols      []string
			want      [][]string
			ordered   bool
		}{"date_add of Presto and of DuckDB", `SELECT count(*) AS last_week, min(date_add('hour', 2, from_unixtime(start))) > min(from_unixtime(start)) AS later,
  date_add(DATE '2020-05-04', INTERVAL 1 DAY) = TIMESTAMP '2020-05-05 00:00:00' AS duckdb_form,
  date_add('quarter', 1, DATE '2020-05-04') = TIMESTAMP '2020-08-04 00:00:00' AS quarter
FROM vpc_flow_logs WHERE date > date_add('day', -7, current_date)`, nil, [][]string{{"4", "true", "true", "true"}}, false},
		struct {
			name, sql string
			cols      []string
			want      [][]string
			ordered   bool
		}{"approx_percentile", `SELECT approx_percentile(packets, 0.5) AS median FROM vpc_flow_logs WHERE date = DATE '2020-05-04'`,
			nil, [][]string{{"1"}}, false})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := e.Query(ctx, engine.Request{SQL: tt.sql})
			if err != nil {
				t.Fatal(err)
			}
			got := Cells(res)
			if tt.cols != nil {
				got = project(res, tt.cols)
			}
			if !tt.ordered {
				got = sortedRows(got)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// project keeps the named columns of a result.
func project(res *engine.Result, cols []string) [][]string {
	idx := map[string]int{}
	for i, n := range res.Names() {
		idx[n] = i
	}
	out := make([][]string, len(res.Rows))
	for i, r := range res.Rows {
		for _, c := range cols {
			out[i] = append(out[i], Cell(r[idx[c]]))
		}
	}
	return out
}
