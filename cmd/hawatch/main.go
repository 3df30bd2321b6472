// Command hawatch is the hawatch daemon and its command-line tools: one
// binary for `run`, `validate`, `status`, `reload`, `demote`, `promote`,
// `convert` and `version`.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.3".
var version = "dev"

// Exit codes. Scripts rely on them: 1 means "the thing you asked about is
// bad" (an invalid file, a failed command), 2 means "you asked wrongly" or
// "not available in this build".
const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 2
	exitNotBuilt = 2
)

// exitError carries an exit code through cobra. A nil err means the command
// has already told the user everything; only the code remains.
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

// usageError marks mistakes in how hawatch was invoked.
func usageError(err error) error { return &exitError{code: exitUsage, err: err} }

// app is what every command shares: the output streams and the means to
// build the one logger. Commands get it as a parameter; nothing is global.
type app struct {
	stdout, stderr io.Writer

	// stderrIsTerminal decides console logging and colored diagnostics.
	stderrIsTerminal bool

	// Flags of the root command, shared by all subcommands.
	logLevel  string
	logFormat string

	// validate's flags.
	pluginDir string
	noPlugins bool
}

func newApp(stdout, stderr io.Writer, stderrIsTerminal bool) *app {
	return &app{stdout: stdout, stderr: stderr, stderrIsTerminal: stderrIsTerminal}
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "hawatch",
		Short: "High-availability daemon: VRRP, virtual IPs and health-check plugins",
		Long: "hawatch keeps a virtual IP on the healthiest of a group of nodes. It speaks VRRP v2/v3\n" +
			"(wire-compatible with keepalived), moves addresses with netlink and gratuitous ARP,\n" +
			"and runs health checks and notifications as plugins. Policy is one HCL file per node.",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
		// Without a subcommand, show help rather than doing anything.
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				hint := ""
				if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
					hint = fmt.Sprintf("; did you mean %q?", s[0])
				}
				return usageError(fmt.Errorf("unknown command %q for %q%s", args[0], cmd.CommandPath(), hint))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(a.stderr)
			_ = cmd.Help()
			return &exitError{code: exitUsage}
		},
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetVersionTemplate(versionLine() + "\n")
	root.CompletionOptions.HiddenDefaultCmd = true
	root.SuggestionsMinimumDistance = 2
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	root.PersistentFlags().StringVar(&a.logLevel, "log-level", "",
		"log level (trace, debug, info, warn, error); overrides node.log_level")
	root.PersistentFlags().StringVar(&a.logFormat, "log-format", "",
		"log format (json or console); overrides node.log_format and the terminal check")

	root.AddCommand(newRunCmd(a))
	root.AddCommand(newPluginCmd(a))
	root.AddCommand(newStatusCmd(a))
	root.AddCommand(newReloadCmd(a))
	root.AddCommand(newDemoteCmd(a, true))
	root.AddCommand(newDemoteCmd(a, false))
	root.AddCommand(newEventsCmd(a))
	root.AddCommand(newValidateCmd(a))
	root.AddCommand(newConvertCmd(a))
	root.AddCommand(newVersionCmd(a))
	root.AddCommand(newGenDocsCmd(a))
	for _, c := range newStubCmds(a) {
		root.AddCommand(c)
	}
	return root
}

// execute runs hawatch with args and returns the process exit code.
func execute(a *app, args []string) int {
	root := newRootCmd(a)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	code := exitFailure
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
		err = ee.err
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "hawatch: %v\n", err)
	}
	return code
}

func main() {
	// Millisecond timestamps: failover happens in tens of milliseconds.
	zerolog.TimeFieldFormat = "2006-01-02T15:04:05.000Z07:00"
	tty := isatty.IsTerminal(os.Stderr.Fd()) || isatty.IsCygwinTerminal(os.Stderr.Fd())
	os.Exit(execute(newApp(os.Stdout, os.Stderr, tty), os.Args[1:]))
}

// exactArgs and minArgs wrap cobra's argument checks so that a wrong number
// of arguments exits with the usage code.
func minArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.MinimumNArgs(n)(cmd, args); err != nil {
			return usageError(fmt.Errorf("%w\nusage: %s", err, cmd.UseLine()))
		}
		return nil
	}
}

func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usageError(fmt.Errorf("%w\nusage: %s", err, cmd.UseLine()))
		}
		return nil
	}
}
