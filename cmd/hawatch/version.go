package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the hawatch version",
		Args:  exactArgs(0),
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(a.stdout, versionLine())
			return err
		},
	}
}

// versionLine is "hawatch <version> (<go version>, <vcs revision>)"; the
// revision is what `go build` recorded, when it recorded one.
func versionLine() string {
	extra := runtime.Version()
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				extra += ", " + s.Value[:12]
			}
		}
	}
	return fmt.Sprintf("hawatch %s (%s)", version, extra)
}
