package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The hidden gen-docs command writes hawatch(8) and the shell completions
// from the command tree itself, so the packaged docs cannot drift from the
// flags (scripts/deb.sh runs it; hawatch.hcl(5) is docs/man/hawatch.hcl.5).

func newGenDocsCmd(a *app) *cobra.Command {
	var manDir, compDir string
	cmd := &cobra.Command{
		Use:    "gen-docs",
		Short:  "Write the hawatch(8) man page and shell completions (packaging)",
		Hidden: true,
		Args:   exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			root := cmd.Root()
			if manDir != "" {
				var b bytes.Buffer
				if err := writeManPage(&b, root); err != nil {
					return err
				}
				if err := writeDocFile(filepath.Join(manDir, "hawatch.8"), b.Bytes()); err != nil {
					return err
				}
			}
			if compDir != "" {
				for name, gen := range map[string]func(io.Writer) error{
					"hawatch.bash": func(w io.Writer) error { return root.GenBashCompletionV2(w, true) },
					"_hawatch":     root.GenZshCompletion,
					"hawatch.fish": func(w io.Writer) error { return root.GenFishCompletion(w, true) },
				} {
					var b bytes.Buffer
					if err := gen(&b); err != nil {
						return fmt.Errorf("%s completion: %w", name, err)
					}
					if err := writeDocFile(filepath.Join(compDir, name), b.Bytes()); err != nil {
						return err
					}
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&manDir, "man", "", "directory to write hawatch.8 into")
	cmd.Flags().StringVar(&compDir, "completions", "", "directory to write hawatch.bash, _hawatch and hawatch.fish into")
	return cmd
}

func writeDocFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// roff escapes text for a man page line: backslashes, and a leading dot or
// quote that roff would read as a request.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			l = `\&` + l
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// visibleCommands is the tree below c in help order, without hidden and
// help commands.
func visibleCommands(c *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	for _, sub := range c.Commands() {
		if sub.Hidden || sub.Name() == "help" || !sub.IsAvailableCommand() {
			continue
		}
		out = append(out, sub)
		out = append(out, visibleCommands(sub)...)
	}
	return out
}

func writeFlags(w io.Writer, fs *pflag.FlagSet) {
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		fmt.Fprintln(w, ".TP")
		name := `\fB\-\-` + roff(f.Name) + `\fR`
		if f.Shorthand != "" {
			name = `\fB\-` + f.Shorthand + `\fR, ` + name
		}
		arg, usage := pflag.UnquoteUsage(f)
		if arg != "" {
			name += ` \fI` + roff(arg) + `\fR`
		}
		fmt.Fprintln(w, name)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintln(w, roff(usage))
	})
}

// writeManPage renders hawatch(8): every visible subcommand with its usage,
// description and flags, then the global flags, exit status and files.
func writeManPage(w io.Writer, root *cobra.Command) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, ".TH HAWATCH 8 \"\" \"hawatch %s\" \"System Administration\"\n", roff(version))
	fmt.Fprintln(&b, ".SH NAME")
	fmt.Fprintf(&b, "hawatch \\- %s\n", roff(strings.ToLower(root.Short[:1])+root.Short[1:]))
	fmt.Fprintln(&b, ".SH SYNOPSIS")
	fmt.Fprintln(&b, `\fBhawatch\fR [\fB\-\-log\-level\fR \fILEVEL\fR] [\fB\-\-log\-format\fR \fIFORMAT\fR] \fICOMMAND\fR [\fIOPTIONS\fR] [\fIARGS\fR]`)
	fmt.Fprintln(&b, ".SH DESCRIPTION")
	fmt.Fprintln(&b, roff(strings.ReplaceAll(root.Long, "\n", " ")))
	fmt.Fprintln(&b, ".PP")
	fmt.Fprintln(&b, `The policy language is described in \fBhawatch.hcl\fR(5). The service runs \fBhawatch run\fR under systemd (hawatch.service).`)
	fmt.Fprintln(&b, ".SH COMMANDS")
	for _, c := range visibleCommands(root) {
		fmt.Fprintf(&b, ".SS \"%s\"\n", roff(c.CommandPath()+strings.TrimPrefix(c.Use, c.Name())))
		fmt.Fprintln(&b, roff(c.Short)+".")
		if c.Long != "" {
			fmt.Fprintln(&b, ".PP")
			fmt.Fprintln(&b, roff(strings.ReplaceAll(c.Long, "\n", " ")))
		}
		if c.HasAvailableLocalFlags() {
			fmt.Fprintln(&b, ".PP")
			fmt.Fprintln(&b, "Options:")
			fmt.Fprintln(&b, ".RS")
			writeFlags(&b, c.LocalNonPersistentFlags())
			fmt.Fprintln(&b, ".RE")
		}
	}
	fmt.Fprintln(&b, ".SH GLOBAL OPTIONS")
	writeFlags(&b, root.PersistentFlags())
	fmt.Fprintln(&b, ".SH EXIT STATUS")
	fmt.Fprintln(&b, `0 on success; 1 when the thing asked about is bad (an invalid policy, a failed command or reload); 2 for a usage error. \fBvalidate \-\-configured\fR exits 1 for a valid policy without instances and 255 for an invalid one, as systemd's ExecCondition reads them.`)
	fmt.Fprintln(&b, ".SH FILES")
	for _, f := range [][2]string{
		{"/etc/hawatch/hawatch.hcl", "the node's policy"},
		{"/run/hawatch/hawatch.sock", "the control socket"},
		{"/var/lib/hawatch", "operator demote intents and the plugin schema cache"},
		{"/usr/libexec/hawatch", "the packaged plugins"},
	} {
		fmt.Fprintf(&b, ".TP\n.I %s\n%s\n", f[0], roff(f[1]))
	}
	fmt.Fprintln(&b, ".SH SEE ALSO")
	fmt.Fprintln(&b, `\fBhawatch.hcl\fR(5), \fBsystemctl\fR(1), \fBkeepalived\fR(8)`)
	_, err := w.Write(b.Bytes())
	return err
}
