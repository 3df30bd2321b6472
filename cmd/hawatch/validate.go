package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/hawatch/hawatch/core/config"
	"github.com/hawatch/hawatch/core/daemon"
	"github.com/hawatch/hawatch/core/pluginhost"
)

// Exit codes of `validate --configured`, as systemd reads ExecCondition:
// 1-254 skip the unit without failing it, 255 fails it.
const (
	exitConditionUnmet  = 1
	exitConditionFailed = 255
)

func newValidateCmd(a *app) *cobra.Command {
	var configured bool
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check policy files and report every mistake with file:line:col",
		Long: "validate loads each file with the same loader the daemon uses and reports every problem\n" +
			"it finds, not just the first. Each file is checked on its own. The exit status is 0 when\n" +
			"all files are valid and 1 when any is not. Each plugin a file uses is started just long\n" +
			"enough to read the schema of its config {} block (cached by the binary's hash), and every\n" +
			"config {} block is checked against it; a plugin binary that is not installed is a warning.",
		Args: minArgs(1),
		RunE: func(_ *cobra.Command, files []string) error {
			failed, empty := 0, 0
			for _, path := range files {
				ok, instances := a.validateFile(path)
				if !ok {
					failed++
				} else if instances == 0 {
					empty++
				}
			}
			switch {
			case failed > 0 && configured:
				return &exitError{code: exitConditionFailed}
			case failed > 0:
				return &exitError{code: exitFailure}
			case empty > 0 && configured:
				fmt.Fprintln(a.stderr, "no vrrp_instance configured: nothing to run (edit the policy to start the service)")
				return &exitError{code: exitConditionUnmet}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&a.pluginDir, "plugin-dir", "", "look for plugin binaries here instead of node.plugin_dir")
	cmd.Flags().BoolVar(&a.noPlugins, "no-plugins", false, "do not start plugins to check their config blocks")
	cmd.Flags().BoolVar(&configured, "configured", false,
		"for systemd's ExecCondition: exit 1 (skip the unit) when a valid file has no vrrp_instance, as the packaged template, and 255 (fail the unit) when a file is invalid")
	return cmd
}

// validateFile prints a one-line summary to stdout for a valid file, or the
// diagnostics and an error count to stderr, and reports whether it was valid.
// Warnings are shown in both cases. instances counts the file's
// vrrp_instance blocks.
func (a *app) validateFile(path string) (ok bool, instances int) {
	cfg, diags := config.Load(path)
	if !diags.HasErrors() && !a.noPlugins {
		diags = append(diags, a.validatePlugins(cfg)...)
	}
	if len(diags) > 0 {
		if err := config.WriteDiagnostics(a.stderr, cfg.Files, diags, a.stderrIsTerminal); err != nil {
			fmt.Fprintf(a.stderr, "hawatch: %v\n", err)
		}
	}
	if n := len(diags.Errs()); n > 0 {
		fmt.Fprintf(a.stderr, "%s: %s\n", path, count(n, "error", "errors"))
		return false, 0
	}
	fmt.Fprintf(a.stdout, "%s: ok (%s)\n", path, summary(cfg))
	return true, len(cfg.Instances)
}

// summary is "1 instance, 3 checks, 1 action, 3 plugins[, 1 sync group]".
func summary(cfg *config.Config) string {
	parts := []string{
		count(len(cfg.Instances), "instance", "instances"),
		count(len(cfg.Checks), "check", "checks"),
		count(len(cfg.Actions), "action", "actions"),
		count(len(cfg.Plugins), "plugin", "plugins"),
	}
	if n := len(cfg.SyncGroups); n > 0 {
		parts = append(parts, count(n, "sync group", "sync groups"))
	}
	return strings.Join(parts, ", ")
}

func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// validatePlugins checks every config {} block against its plugin's schema.
func (a *app) validatePlugins(cfg *config.Config) hcl.Diagnostics {
	host, err := pluginhost.NewManager(zerolog.Nop(), pluginhost.Options{SchemaCacheDir: schemaCache()})
	if err != nil {
		return hcl.Diagnostics{{Severity: hcl.DiagWarning, Summary: "Plugin configs not checked", Detail: err.Error()}}
	}
	defer host.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, diags := daemon.ValidatePlugins(ctx, host, cfg, a.pluginDir, true)
	return diags
}

// schemaCache is a per-user cache of plugin schemas; none if it can't be had.
func schemaCache() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return dir + "/hawatch/schemas"
}
