package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/gen"
	"github.com/flowlens/flowlens/source"
	"github.com/spf13/cobra"
)

func init() { register(newParseCmd) }

func newParseCmd() *cobra.Command {
	var formatFlag string
	cmd := &cobra.Command{
		Use:   "parse [--format FMT] [FILE...|-]",
		Short: "Print flow-log records as JSON, one object per line",
		Long: `Parse reads flow-log records and prints each as one JSON object keyed by
column names: fields absent from the format are omitted, "-" is null, numbers are
numbers, millisecond timestamps become seconds.

Input is plain text or gzip (told by its first bytes, not its name), from files,
folders, globs or standard input ("-", the default). A header line anywhere in the
stream switches the format, so concatenated S3 objects parse as they are. Without a
header the format is --format, else AWS's default (version 2) format.
--format auto guesses AWS's documented layouts from the number of values and says so.

Each bad line is reported on stderr as FILE:LINE: reason and skipped.

` + exitCodesHelp,
		Example: `  # An S3 object, gzip or not
  flowlens parse 123456789012_vpcflowlogs_us-east-1_fl-0abc_20240301T0005Z_1a2b3c4d.log.gz

  # A custom format, from standard input
  echo '10.0.1.5 10.0.0.220 443' | flowlens parse --format '${srcaddr} ${dstaddr} ${dstport}'

  # Every object of an 'aws s3 sync' copy, filtered with jq
  flowlens parse ./AWSLogs/ | jq 'select(.action == "REJECT")'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{source.Stdin}
			}
			return runParse(cmd, formatFlag, args)
		},
	}
	cmd.Flags().StringVar(&formatFlag, "format", "", "record format: '${version} ${srcaddr} …', a header line, v2…v11 (every field up to that version), or auto (default: AWS's v2 format)")
	return cmd
}

func runParse(cmd *cobra.Command, formatFlag string, args []string) error {
	opts, err := scanOptions(cmd, formatFlag)
	if err != nil {
		return err
	}
	files, err := source.Expand(args)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	out := bufio.NewWriterSize(g.stdout, 256<<10)
	defer out.Flush()
	rejected, ioFailed := 0, false
	var buf []byte
	for _, name := range files {
		n, err := parseFile(name, opts, out, &buf)
		rejected += n
		if err != nil {
			ioFailed = true
			fmt.Fprintf(g.stderr, "%s: %v\n", name, err)
		}
	}
	if err := out.Flush(); err != nil {
		return &exitError{code: exitFailure, err: fmt.Errorf("write output: %w", err)}
	}
	switch {
	case ioFailed:
		return &exitError{code: exitFailure}
	case rejected > 0:
		return &exitError{code: exitPartial}
	}
	return nil
}

// scanOptions turns --format into scanner options, printing its notes.
func scanOptions(cmd *cobra.Command, formatFlag string) (flowlog.ScanOptions, error) {
	var o flowlog.ScanOptions
	switch formatFlag {
	case "":
	case "auto":
		o.Guess = true
	default:
		// v2…v11 as in gen, so a layout that gen writes is read by its name.
		f, err := gen.ParseFormat(formatFlag)
		if err != nil {
			return o, usageErrorf("--format: %v", err)
		}
		for _, n := range f.Notes {
			noticef("note: %s", n)
		}
		// Unknown fields are kept (AWS adds fields), but in a format typed
		// by hand one is more often a typo, which would otherwise only show
		// as every line having the wrong number of values.
		for _, n := range f.Unknown() {
			noticef("note: --format: %s is not a field flowlens knows (flowlens fields lists them): its values are kept as text", n)
		}
		o.Format = f
	}
	return o, nil
}

// noticef prints a diagnostic on stderr unless -q.
func noticef(format string, a ...any) {
	if !g.quiet {
		fmt.Fprintf(g.stderr, format+"\n", a...)
	}
}

// parseFile writes the records of one file as JSON lines and returns how many
// lines it rejected; err is an I/O error that stopped the file.
func parseFile(name string, opts flowlog.ScanOptions, out io.Writer, buf *[]byte) (rejected int, err error) {
	f, err := source.Open(name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := flowlog.NewScanner(f, opts)
	defer func() {
		for _, n := range sc.Notes() {
			noticef("%s: note: %s", name, n)
		}
	}()
	for {
		rec, err := sc.Next()
		var le *flowlog.LineError
		switch {
		case err == nil:
			b := sc.Format().AppendJSON((*buf)[:0], rec)
			b = append(b, '\n')
			*buf = b
			if _, err := out.Write(b); err != nil {
				return rejected, err
			}
		case errors.As(err, &le):
			rejected++
			fmt.Fprintf(g.stderr, "%s:%d: %v\n", name, le.Line, le.Err)
		case err == io.EOF:
			return rejected, nil
		default:
			return rejected, fmt.Errorf("line %d: %w", sc.Line(), err)
		}
	}
}
