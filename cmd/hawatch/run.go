package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/hawatch/hawatch/core/config"
	"github.com/hawatch/hawatch/core/control"
	"github.com/hawatch/hawatch/core/daemon"
	"github.com/hawatch/hawatch/internal/footprint"
)

func newRunCmd(a *app) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "run --config FILE",
		Short: "Run the node: VRRP instances, virtual IPs, plugins, control socket",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Before loading: the policy's garbage is collected under
			// the daemon's settings.
			gc := footprint.ApplyDaemonDefaults(os.LookupEnv)
			cfg, diags := config.Load(path)
			if diags.HasErrors() {
				_ = config.WriteDiagnostics(a.stderr, cfg.Files, diags, a.stderrIsTerminal)
				return &exitError{code: exitFailure, err: fmt.Errorf("%s: invalid policy", path)}
			}
			log, err := a.logger(cfg.Node)
			if err != nil {
				return usageError(err)
			}
			for _, d := range diags {
				ev := log.Warn().Str("config", path)
				if d.Subject != nil {
					ev = ev.Str("at", d.Subject.String())
				}
				ev.Str("detail", d.Detail).Msg(d.Summary)
			}
			log.Debug().Int("gogc", gc.GCPercent).Int64("gomemlimit", gc.MemoryLimit).Strs("from_env", gc.FromEnv).Msg("garbage collector")
			err = daemon.Run(context.Background(), log, path, cfg)
			var re *control.ReloadError
			if errors.As(err, &re) {
				fmt.Fprint(a.stderr, re.Diagnostics)
				return &exitError{code: exitFailure, err: fmt.Errorf("%s: invalid plugin configuration", path)}
			}
			return err
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "/etc/hawatch/hawatch.hcl", "node policy file")
	return cmd
}
