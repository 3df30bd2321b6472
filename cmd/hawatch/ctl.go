package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hawatch/hawatch/core/config"
	"github.com/hawatch/hawatch/core/control"
)

// The commands that talk to a running daemon over its control socket.

func socketFlag(cmd *cobra.Command, path *string) {
	cmd.Flags().StringVar(path, "socket", config.DefaultControlSocket, "control socket of the running daemon")
}

// ctlError turns a control socket answer into a plain message: the
// daemon's own words, prefixed with what the status means where it adds
// something.
func ctlError(err error) error {
	var se *control.StatusError
	if !errors.As(err, &se) {
		return &exitError{code: exitFailure, err: err}
	}
	msg := strings.TrimSpace(se.Message)
	switch se.Code {
	case http.StatusGatewayTimeout:
		msg = "the daemon did not answer in time: " + msg
	case http.StatusServiceUnavailable:
		msg = "the daemon cannot serve this now (starting or stopping): " + msg
	case http.StatusConflict:
		msg = "refused: " + msg
	}
	return &exitError{code: exitFailure, err: errors.New(msg)}
}

func newStatusCmd(a *app) *cobra.Command {
	var sock string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show state, priority ledger, VIPs, peers, checks and plugins of the running daemon",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
			defer cancel()
			var st control.Status
			var raw json.RawMessage
			c := control.NewClient(sock)
			if err := c.Do(ctx, "GET", "/v1/status", nil, &raw); err != nil {
				return ctlError(err)
			}
			if asJSON {
				_, err := fmt.Fprintln(a.stdout, string(raw))
				return err
			}
			if err := json.Unmarshal(raw, &st); err != nil {
				return ctlError(err)
			}
			printStatus(a.stdout, st)
			return nil
		},
	}
	socketFlag(cmd, &sock)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the raw JSON status")
	return cmd
}

func printStatus(w io.Writer, st control.Status) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "node %s\n\n", st.Node)
	fmt.Fprintln(tw, "INSTANCE\tSTATE\tPRIO\tEFFECTIVE\tVIPS\tHELD\tMASTER\tSENT\tRECEIVED\tDROPPED")
	for _, in := range st.Instances {
		held := "no"
		switch {
		case in.AddressOwner:
			held = "own"
		case in.VIPsHeld:
			held = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%d\t%d\t%s\n", in.Name, in.State, in.Priority, in.EffectivePriority,
			strings.Join(in.VIPs, ","), held, dash(in.Stats.MasterAddr), in.Stats.AdvertsSent, in.Stats.AdvertsReceived,
			dash(pairs(in.Stats.Dropped)))
	}
	tw.Flush()
	for _, in := range st.Instances {
		fmt.Fprintf(w, "\npriority ledger of %s: base %d", in.Name, in.Priority)
		for _, l := range in.Ledger {
			fmt.Fprintf(w, "\n  %-14s %-6s %-8s contribution %+d  (%s)", l.Check, l.Effect, l.Status, l.Contribution, l.Reason)
		}
		for _, h := range in.Holds {
			fmt.Fprintf(w, "\n  held: %s", h)
		}
		if in.VIPError != "" {
			fmt.Fprintf(w, "\n  VIP error: %s", in.VIPError)
		}
		if wt := in.Witness; wt != nil {
			fmt.Fprintf(w, "\n  witness %s: %s", wt.Name, wt.State)
			if wt.Holder != "" {
				fmt.Fprintf(w, " (holder %s, revision %d)", wt.Holder, wt.Revision)
			}
			if wt.Granted {
				fmt.Fprintf(w, ", valid until %s", wt.ValidUntil.Local().Format("15:04:05.000"))
			}
			if wt.Reason != "" {
				fmt.Fprintf(w, "; %s", wt.Reason)
			}
			fmt.Fprintf(w, "; on_witness_lost = %s", wt.OnLost)
		}
		if in.Auth != "" {
			fmt.Fprintf(w, "\n  auth: %s; %d accepted unsigned", in.Auth, in.Stats.UnsignedAccepted)
		}
		fmt.Fprintf(w, "\n  = effective %d; last transition: %s\n", in.EffectivePriority, dash(in.Stats.LastReason))
	}
	if len(st.Checks) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CHECK\tSTATUS\tREASON\tDETAIL")
		for _, c := range st.Checks {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Name, c.Status, c.Reason, dash(pairs(c.Detail)))
		}
		tw.Flush()
	}
	if len(st.Plugins) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tKIND\tPLUGIN\tPID\tRESTARTS")
		for _, p := range st.Plugins {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", p.Name, p.Kind, p.Plugin, p.PID, p.Restarts)
		}
		tw.Flush()
	}
}

// pairs renders a map as sorted k=v,k=v.
func pairs[V any](m map[string]V) string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s=%v", k, v))
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newReloadCmd(a *app) *cobra.Command {
	var sock string
	cmd := &cobra.Command{
		Use:   "reload",
		Short: "Re-read the running daemon's policy file and apply it without disturbing VRRP",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 60*time.Second)
			defer cancel()
			if err := control.NewClient(sock).Do(ctx, "POST", "/v1/reload", nil, nil); err != nil {
				return ctlError(err)
			}
			_, err := fmt.Fprintln(a.stdout, "reloaded")
			return err
		},
	}
	socketFlag(cmd, &sock)
	return cmd
}

func newDemoteCmd(a *app, demote bool) *cobra.Command {
	var sock string
	use, short, path := "demote [INSTANCE]", "Put an instance (default: all) into maintenance: resign mastership and stay BACKUP, also after a restart", "/v1/demote"
	if !demote {
		use, short, path = "promote [INSTANCE]", "End maintenance of an instance (default: all)", "/v1/promote"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var body struct {
				Instance string `json:"instance"`
			}
			if len(args) == 1 {
				body.Instance = args[0]
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Second)
			defer cancel()
			if err := control.NewClient(sock).Do(ctx, "POST", path, body, nil); err != nil {
				return ctlError(err)
			}
			_, err := fmt.Fprintf(a.stdout, "%s: ok\n", cmd.Name())
			return err
		},
	}
	socketFlag(cmd, &sock)
	return cmd
}

func newEventsCmd(a *app) *cobra.Command {
	var sock string
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Follow the running daemon's transitions and check changes (JSON lines)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			body, err := control.NewClient(sock).Stream(ctx, "/v1/events")
			if err != nil {
				return ctlError(err)
			}
			defer body.Close()
			sc := bufio.NewScanner(body)
			for sc.Scan() {
				fmt.Fprintln(a.stdout, sc.Text())
			}
			return nil
		},
	}
	socketFlag(cmd, &sock)
	return cmd
}
