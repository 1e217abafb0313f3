package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/flowlens/flowlens/config"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// globals are the flags every command shares.
type globals struct {
	config   string
	cfg      config.Config
	data     string
	output   string
	quiet    bool
	logLevel string
	stdout   io.Writer
	stderr   io.Writer
}

var g = &globals{stdout: os.Stdout, stderr: os.Stderr}

const exitCodesHelp = `Exit codes:
  0    success
  1    I/O or runtime error
  2    usage error (bad flags or arguments)
  3    finished, but some input was rejected (see stderr)
  130  interrupted (Ctrl-C or SIGTERM)`

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "flowlens",
		Short: "Answers from AWS VPC Flow Logs: parse, store, query, detect",
		Long: `flowlens turns AWS VPC Flow Logs into answers on one machine.

It reads flow-log records of every version (2 to 11, transit gateway, any custom
${field} format), stores them in a date-partitioned Parquet lake, queries them with
CloudWatch Logs Insights syntax or SQL, and finds scans, brute force, exfiltration
and other attacks in them.

` + exitCodesHelp,
		Example: `  # See everything work on generated data, no setup
  flowlens demo

  # Store an 'aws s3 sync' copy of a flow-log bucket, then ask questions
  flowlens ingest ./AWSLogs/
  flowlens query 'filter action = "REJECT" | stats count() as n by srcaddr | sort n desc | limit 10'
  flowlens query "SELECT dstport, COUNT(*) FROM vpc_flow_logs GROUP BY dstport ORDER BY 2 DESC LIMIT 10"

  # Find attacks in the last day and keep them as alerts
  flowlens detect --since 24h -o table
  flowlens alerts list`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return g.setup(cmd)
		},
	}
	root.SetOut(g.stdout)
	root.SetErr(g.stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&g.config, "config", "", "configuration file (env FLOWLENS_CONFIG, default ~/.config/flowlens/config.yaml)")
	pf.StringVar(&g.data, "data", "", "data folder (env FLOWLENS_DATA, else the config's data, else ~/.local/share/flowlens)")
	pf.StringVarP(&g.output, "output", "o", "", "output format: table, csv, json, ndjson or chart (default table on a terminal, else ndjson)")
	pf.BoolVarP(&g.quiet, "quiet", "q", false, "print only results and errors")
	pf.StringVar(&g.logLevel, "log-level", "warn", "log level: debug, info, warn or error")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		hint := ""
		if flag, ok := strings.CutPrefix(err.Error(), "unknown flag: --"); ok && strings.ContainsAny(flag, " \t\n") {
			// A query that starts with a SQL comment looks like a flag.
			hint = fmt.Sprintf("\nhint: an argument that starts with -- is taken for a flag; put -- before it (%s -- '-- …'), or pass the query as @FILE or - (stdin)", c.CommandPath())
		}
		return &exitError{code: exitUsage, err: fmt.Errorf("%w%s\nRun '%s --help' for usage", err, hint, c.CommandPath())}
	})

	for _, c := range commands {
		root.AddCommand(c())
	}
	return root
}

// commands holds every subcommand's constructor. Each command file adds its own
// in an init function, so commands never need to edit this file.
var commands []func() *cobra.Command

func register(c func() *cobra.Command) { commands = append(commands, c) }

func (g *globals) setup(cmd *cobra.Command) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		return usageErrorf("--log-level: %q is not one of debug, info, warn, error", g.logLevel)
	}
	if g.quiet && level < slog.LevelError {
		level = slog.LevelError
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: level})))
	path, explicit := config.Path(g.config)
	cfg, err := config.Load(path, explicit)
	if err != nil {
		return usageErrorf("%v", err)
	}
	g.cfg = cfg
	switch g.output {
	case "", "table", "csv", "json", "ndjson", "chart", "text":
	default:
		return usageErrorf("-o: %q is not one of table, csv, json, ndjson, chart", g.output)
	}
	return nil
}

// dataDir resolves the data folder: --data, else $FLOWLENS_DATA, else the
// configuration's data, else the XDG data directory.
func (g *globals) dataDir() (string, error) {
	if g.data != "" {
		return g.data, nil
	}
	if d := os.Getenv("FLOWLENS_DATA"); d != "" {
		return d, nil
	}
	if g.cfg.Data != "" {
		return g.cfg.Data, nil
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "flowlens"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find the data folder: %w (give --data)", err)
	}
	return filepath.Join(home, ".local", "share", "flowlens"), nil
}

// outputFormat returns the -o value, defaulting to table on a terminal and def elsewhere.
func (g *globals) outputFormat(def string) string {
	if g.output != "" {
		return g.output
	}
	if isTerminal(g.stdout) {
		return "table"
	}
	return def
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// stderrIsTerminal reports whether progress bars and colour may be drawn.
func (g *globals) stderrIsTerminal() bool {
	return !g.quiet && os.Getenv("NO_COLOR") == "" && isTerminal(g.stderr)
}

func isUsageError(err error) bool {
	s := err.Error()
	return strings.HasPrefix(s, "unknown command") || strings.HasPrefix(s, "unknown flag") ||
		strings.Contains(s, "accepts ") || strings.HasPrefix(s, "required flag")
}
