package main

import (
	"fmt"

	"github.com/flowlens/flowlens/config"
	"github.com/spf13/cobra"
)

func init() { register(newConfigCmd) }

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show the effective configuration and where it comes from",
		Long: `flowlens reads one YAML configuration file: --config, else $FLOWLENS_CONFIG,
else ~/.config/flowlens/config.yaml (a missing default file is fine). Flags override
it. Every key is documented in docs/config.md.`,
		Example: `  flowlens config show
  flowlens --config ./flowlens.yaml config show
  flowlens config path`,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "show",
		Short: "Print the effective configuration as YAML (secrets masked)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c := g.cfg
			dir, err := g.dataDir()
			if err != nil {
				return err
			}
			c.Data = dir
			b, err := c.YAML()
			if err != nil {
				return err
			}
			_, err = g.stdout.Write(b)
			return err
		},
	}, &cobra.Command{
		Use:   "path",
		Short: "Print the configuration file flowlens reads",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, _ := config.Path(g.config)
			_, err := fmt.Fprintln(g.stdout, p)
			return err
		},
	})
	return cmd
}
