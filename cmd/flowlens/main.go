// Command flowlens turns AWS VPC Flow Logs into answers: it parses, stores,
// queries and watches them. This package is the CLI: one file per subcommand,
// and the only place that wires the other packages together.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes, documented in `flowlens --help`.
const (
	exitOK      = 0
	exitFailure = 1 // I/O or runtime error
	exitUsage   = 2 // bad flags or arguments
	exitPartial = 3 // finished, but some input was rejected
	// exitInterrupted is the shell's code for a command ended by SIGINT
	// (128 + 2), so scripts can tell Ctrl-C from a failure.
	exitInterrupted = 130
)

// exitError carries an exit code up to main. A nil err with a code reports
// nothing more (the command already said what happened).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func usageErrorf(format string, a ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, a...)}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:]))
}

func run(ctx context.Context, args []string) int {
	root := newRootCmd()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	if ctx.Err() != nil {
		fmt.Fprintf(g.stderr, "flowlens: interrupted: %v\n", err)
		return exitInterrupted
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(g.stderr, "flowlens: %v\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(g.stderr, "flowlens: %v\n", err)
	if isUsageError(err) {
		return exitUsage
	}
	return exitFailure
}
