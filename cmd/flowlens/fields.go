package main

import (
	"github.com/flowlens/flowlens/flowlog"
	"github.com/spf13/cobra"
)

func init() { register(newFieldsCmd) }

func newFieldsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "fields",
		Short: "List every flow-log field: AWS name, column, Insights name, version, type, range",
		Long: `Fields lists every field of every flow-log version flowlens knows: the AWS name
used in format strings, the SQL/Parquet column, the CloudWatch Logs Insights name,
the version that introduced it (6 for transit-gateway fields), its type, the range
of values AWS allows (a line with a value outside it is quarantined) and what it
means. Names resolve case-insensitively, ignoring '-' and '_', in every language.`,
		Example: `  flowlens fields
  flowlens fields -o json | jq '.rows[] | select(.[3] >= 5)'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			rs := &resultSet{Columns: []string{"name", "column", "insights", "version", "type", "range", "description"}}
			for _, f := range flowlog.Fields() {
				var values any // null: any value of the type
				if f.HasRange() {
					values = f.RangeText()
				}
				rs.Rows = append(rs.Rows, []any{f.Name, f.Column, f.Insights, f.Version, f.Type.SQL(), values, f.Description})
			}
			return writeResult(g.stdout, g.outputFormat("table"), rs)
		},
	}
}
