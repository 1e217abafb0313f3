package engine

import (
	"strings"

	"github.com/flowlens/flowlens/flowlog"
)

// ViewColumn is one column of the vpc_flow_logs view, the same in every
// dialect (DESIGN §5).
type ViewColumn struct {
	Name string // column name: log_status
	// Type is the SQL type: INTEGER, BIGINT or VARCHAR.
	Type string
	// Source is the column an alias column repeats ("" for others).
	Source string
	// Aliases are other names that mean this column in Insights queries and
	// format strings: the AWS name (log-status) and the Insights name (logStatus).
	Aliases []string
	// Partition marks the Hive partition columns year, month and day, and
	// date, which is derived from them.
	Partition bool
}

// ViewColumns returns the columns of vpc_flow_logs in order: every registry
// field, extra (a JSON object of fields the registry does not know), the alias
// columns windowstart, windowend and flowlogstatus, the partition columns
// year, month and day (zero-padded strings), and date, their DATE.
func ViewColumns() []ViewColumn {
	var out []ViewColumn
	for _, f := range flowlog.Fields() {
		c := ViewColumn{Name: f.Column, Type: f.Type.SQL()}
		for _, a := range []string{f.Name, f.Insights} {
			if a != c.Name && !contains(c.Aliases, a) {
				c.Aliases = append(c.Aliases, a)
			}
		}
		out = append(out, c)
	}
	out = append(out, ViewColumn{Name: "extra", Type: "VARCHAR"})
	for _, a := range [][2]string{{"windowstart", "start"}, {"windowend", "end"}, {"flowlogstatus", "log_status"}} {
		f, _ := flowlog.Lookup(a[1])
		out = append(out, ViewColumn{Name: a[0], Type: f.Type.SQL(), Source: a[1]})
	}
	for _, p := range []string{"year", "month", "day"} {
		out = append(out, ViewColumn{Name: p, Type: "VARCHAR", Partition: true})
	}
	// date is the partition column of AWS's Athena table for flow logs, so
	// that Athena's examples (WHERE date = DATE('2020-05-04')) run as written.
	out = append(out, ViewColumn{Name: "date", Type: "DATE", Partition: true})
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
