package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// errDiffers is returned by a dry run that found the target not identical to
// the source, after the result has been printed.
var errDiffers = errors.New("target differs from source")

// usageError is a mistake on the command line.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// signalError is the cause of a context cancelled by a signal.
type signalError struct{ sig syscall.Signal }

func (e *signalError) Error() string { return "interrupted by " + signalName(e.sig) }

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

func newRootCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pdiffagent",
		Short: "Replicate very large files and block devices by delta transfer",
		Long: `pdiffagent brings a target file or block device up to date with a source by
hashing both in parallel, block by block, and writing only the blocks that
differ. Every kept block is sha256-confirmed, so the result is verified.

Exit codes: 0 target identical to source; 1 error; 2 usage error;
3 dry run found differences; 75 failure worth retrying (network, busy,
changed); 130 interrupted (SIGINT).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// The root runs only when no subcommand matched.
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return unknownCommand(cmd, args[0])
			}
			return cmd.Help()
		},
	}
	// --version prints what `pdiffagent version` prints.
	cmd.Version = buildVersion().String()
	cmd.SetVersionTemplate("{{.Version}}\n")
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &usageError{err}
	})
	cmd.SetHelpCommand(newHelpCommand())
	cmd.AddCommand(
		newSyncCommand(&syncOptions{}),
		newIDCommand(&identityOptions{}),
		newListenCommand(&listenOptions{}),
		newPushCommand(&remoteOptions{}),
		newPullCommand(&remoteOptions{}),
		newGenCommand(),
		newVersionCommand(),
		newManCommand(),
		newServeCommand(&serveOptions{}),
		newBenchCommand(&benchOptions{}),
		newChecksumCommand(&checksumOptions{}), newRetrieveCommand(&retrieveOptions{}), newSaveCommand(&saveOptions{}),
		newVerifyCommand(&verifyOptions{}),
	)
	registerCompletions(cmd)
	addCPUProfile(cmd)
	return cmd
}

// unknownCommand is the usage error for a word that names no subcommand.
func unknownCommand(cmd *cobra.Command, word string) error {
	msg := fmt.Sprintf("unknown command %q for %q", word, cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(word); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return usageErrorf("%s", msg)
}

// exactArgs is cobra.ExactArgs returning a usageError.
func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErrorf("%s wants %s, got %d argument(s)", cmd.CommandPath(), names, len(args))
		}
		return nil
	}
}

// rangeArgs is cobra.RangeArgs returning a usageError.
func rangeArgs(lo, hi int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < lo || len(args) > hi {
			return usageErrorf("%s wants %s, got %d argument(s)", cmd.CommandPath(), names, len(args))
		}
		return nil
	}
}

// signalContext returns a context cancelled, with a *signalError cause, by
// the first SIGINT or SIGTERM. A second signal kills the process the
// default way.
func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case s := <-ch:
			signal.Reset(os.Interrupt, syscall.SIGTERM)
			cancel(&signalError{s.(syscall.Signal)})
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		cancel(nil)
	}
}

// report prints err for a human; errDiffers needs no message, the result
// said it.
func report(ctx context.Context, cmd *cobra.Command, err error) {
	var (
		sig   *signalError
		usage *usageError
	)
	switch {
	case err == nil, errors.Is(err, errDiffers) && ctx.Err() == nil:
	case errors.As(context.Cause(ctx), &sig):
		var ie *interruptedError
		if errors.As(err, &ie) {
			fmt.Fprintf(os.Stderr, "pdiffagent: %v: %s\n", sig, ie.done)
		} else {
			fmt.Fprintf(os.Stderr, "pdiffagent: %v\n", sig)
		}
	case errors.As(err, &usage):
		fmt.Fprintf(os.Stderr, "pdiffagent: %v\nRun '%s --help' for usage.\n", err, cmd.CommandPath())
	default:
		fmt.Fprintf(os.Stderr, "pdiffagent: %v\n", err)
	}
}

// interruptedError carries a one-line account of the work done before a
// signal stopped a command.
type interruptedError struct {
	done string
	err  error
}

func (e *interruptedError) Error() string { return e.done + ": " + e.err.Error() }
func (e *interruptedError) Unwrap() error { return e.err }

// partlyUpdatedError is a sync that failed after writing to its target.
type partlyUpdatedError struct{ err error }

func (e *partlyUpdatedError) Error() string {
	return e.err.Error() + "; the target is partly updated: run the same command again to complete it"
}
func (e *partlyUpdatedError) Unwrap() error { return e.err }

func run(args []string) int {
	ctx, stop := signalContext()
	defer stop()
	root := newRootCommand()
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	printFailureJSON(ctx, cmd, args, err)
	report(ctx, cmd, err)
	return exitCode(ctx, err)
}

func main() {
	os.Exit(run(os.Args[1:]))
}

// newHelpCommand is cobra's help, except that an unknown topic is a usage
// error (exit 2), not a message and exit 0.
func newHelpCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		RunE: func(c *cobra.Command, args []string) error {
			root := c.Root()
			target, rest, err := root.Find(args)
			if err != nil || target == nil || len(rest) > 0 {
				return usageErrorf("unknown help topic %q: run 'pdiffagent help' for the commands", strings.Join(args, " "))
			}
			return target.Help()
		},
	}
}
