package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/hawatch/hawatch/core/convert"
)

func newConvertCmd(a *app) *cobra.Command {
	var opts convert.Options
	cmd := &cobra.Command{
		Use:   "convert KEEPALIVED.CONF",
		Short: "Translate a keepalived.conf into a hawatch policy",
		Long: "convert reads a keepalived configuration and prints the equivalent hawatch policy (HCL) on\n" +
			"stdout: vrrp_instance, vrrp_script, vrrp_track_process, track_script, notify scripts,\n" +
			"vrrp_sync_group and the mail settings of global_defs. Check scripts become process,\n" +
			"tcpprobe or splitbrain checks when they are a known idiom (killall -0, pidof, pgrep, ps|grep,\n" +
			"systemctl is-active, curl, nc -z); anything else is left as a TODO comment, since hawatch\n" +
			"runs no shell scripts. Everything not carried over is a warning on stderr (file:line) and a\n" +
			"comment in the policy. Exit status 0 when converted (warnings or not), 1 when the file\n" +
			"cannot be read or is not keepalived syntax. Review the result, then run hawatch validate.\n" +
			"A file with conditional lines (@ID, @^ID) shared by several nodes is converted for one node\n" +
			"with --config-id ID, as keepalived -i ID reads it.",
		Args: exactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			path := args[0]
			src, err := os.ReadFile(path)
			if err != nil {
				return fmt.Errorf("convert: %w", err)
			}
			out, warns, err := convert.ConvertWith(src, path, opts)
			if err != nil {
				return fmt.Errorf("convert: %w", err)
			}
			if _, err := a.stdout.Write(out); err != nil {
				return fmt.Errorf("convert: write policy: %w", err)
			}
			for _, w := range warns {
				if w.Line > 0 {
					fmt.Fprintf(a.stderr, "%s:%d: warning: %s\n", path, w.Line, w.Message)
				} else {
					fmt.Fprintf(a.stderr, "%s: warning: %s\n", path, w.Message)
				}
			}
			if n := len(warns); n > 0 {
				fmt.Fprintf(a.stderr, "%s: %s; review the comments in the policy, then run hawatch validate\n",
					path, count(n, "warning", "warnings"))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.ConfigID, "config-id", "", "keep the conditional lines of this `ID` (keepalived -i ID) and drop the others")
	return cmd
}
