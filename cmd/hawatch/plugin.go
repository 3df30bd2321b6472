package main

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/hawatch/hawatch/core/pluginhost"
	"github.com/hawatch/hawatch/sdk"
)

//go:embed scaffold/*.tmpl
var scaffold embed.FS

func newPluginCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plugin",
		Short: "Write and inspect plugins: plugin new NAME, plugin describe PATH",
	}
	cmd.AddCommand(newPluginNewCmd(a), newPluginDescribeCmd(a))
	return cmd
}

// pluginName is what a plugin block label and Info.Name may be here: it
// becomes a file name (hawatch-NAME) and a Go string.
var pluginName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

func newPluginNewCmd(a *app) *cobra.Command {
	var dir, module, sdkPath string
	cmd := &cobra.Command{
		Use:   "new NAME",
		Short: "Scaffold a check plugin module (check, test, README) in ./NAME",
		Long: "new writes a Go module holding a working check plugin named NAME: main.go, check.go (a\n" +
			"typed config struct and Check), check_test.go (through sdktest) and a README. The SDK is\n" +
			"not a published module yet, so go.mod carries a replace line to a hawatch checkout\n" +
			"(--sdk; the README explains it). Then: go mod tidy && go test ./... && go build.",
		Args: exactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			name := args[0]
			if !pluginName.MatchString(name) {
				return usageError(fmt.Errorf("plugin name %q: want lower case letters, digits and _, starting with a letter", name))
			}
			if dir == "" {
				dir = name
			}
			if module == "" {
				module = "example.com/hawatch-" + name
			}
			if sdkPath == "" {
				sdkPath = "../hawatch"
			} else if abs, err := filepath.Abs(sdkPath); err == nil {
				sdkPath = abs
			}
			if err := writeScaffold(dir, scaffoldData{Name: name, Module: module, SDKPath: sdkPath}); err != nil {
				return &exitError{code: exitFailure, err: err}
			}
			fmt.Fprintf(a.stdout, "wrote plugin %q in %s; next:\n  cd %s && go mod tidy && go test ./... && go build -o hawatch-%s .\n", name, dir, dir, name)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory to create (default ./NAME); must not exist or be empty")
	cmd.Flags().StringVar(&module, "module", "", "Go module path (default example.com/hawatch-NAME)")
	cmd.Flags().StringVar(&sdkPath, "sdk", "", "hawatch checkout for go.mod's replace line (default ../hawatch)")
	return cmd
}

type scaffoldData struct{ Name, Module, SDKPath string }

func writeScaffold(dir string, d scaffoldData) error {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s exists and is not empty", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files, err := fs.Glob(scaffold, "scaffold/*.tmpl")
	if err != nil {
		return err
	}
	// Plain replacement, not text/template: Go source is full of braces.
	r := strings.NewReplacer("{{.Name}}", d.Name, "{{.Module}}", d.Module, "{{.SDKPath}}", d.SDKPath)
	for _, f := range files {
		b, err := fs.ReadFile(scaffold, f)
		if err != nil {
			return fmt.Errorf("scaffold %s: %w", f, err)
		}
		out := filepath.Join(dir, strings.TrimSuffix(filepath.Base(f), ".tmpl"))
		if err := os.WriteFile(out, []byte(r.Replace(string(b))), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func newPluginDescribeCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "describe PATH",
		Short: "Start a plugin binary and print its name, kind and config schema as docs",
		Long: "describe starts the plugin at PATH (with the same path-safety checks as the daemon)\n" +
			"just long enough to ask who it is and what its config {} block takes, and prints that.",
		Args: exactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			path, err := filepath.Abs(args[0])
			if err != nil {
				return &exitError{code: exitFailure, err: err}
			}
			host, err := pluginhost.NewManager(zerolog.Nop(), pluginhost.Options{})
			if err != nil {
				return &exitError{code: exitFailure, err: err}
			}
			defer host.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			d, err := host.DescribeBinary(ctx, path)
			if err != nil {
				return &exitError{code: exitFailure, err: err}
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(d)
			}
			writeDescription(a.stdout, d)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the description as JSON")
	return cmd
}

// writeDescription prints d as an annotated config block.
func writeDescription(w io.Writer, d pluginhost.Description) {
	fmt.Fprintf(w, "%s: %s plugin, version %s\n\nconfig {\n", d.Info.Name, d.Info.Kind, d.Info.Version)
	writeSchema(w, d.Schema, "  ")
	fmt.Fprintln(w, "}")
}

func writeSchema(w io.Writer, s sdk.Schema, indent string) {
	for _, a := range s.Attributes {
		if a.Description != "" {
			fmt.Fprintf(w, "%s# %s\n", indent, a.Description)
		}
		fmt.Fprintf(w, "%s%s = %s\n", indent, a.Name, attrSummary(a))
	}
	for _, b := range s.Blocks {
		req := "optional"
		if b.Required {
			req = "required"
		}
		fmt.Fprintf(w, "%s%s {  # %s block\n", indent, b.Name, req)
		writeSchema(w, b.Schema, indent+"  ")
		fmt.Fprintf(w, "%s}\n", indent)
	}
	for _, r := range s.Rules {
		fmt.Fprintf(w, "%s# rule: %s\n", indent, ruleSummary(r))
	}
}

func attrSummary(a sdk.Attribute) string {
	parts := []string{string(a.Type)}
	if a.Required {
		parts = append(parts, "required")
	}
	if a.Default != nil {
		b, _ := json.Marshal(a.Default)
		parts = append(parts, "default "+string(b))
	}
	if a.NonEmpty {
		parts = append(parts, "not empty")
	}
	bound := func(f float64) string {
		if a.Type == sdk.TypeDuration {
			return time.Duration(f * float64(time.Second)).String()
		}
		return fmt.Sprintf("%g", f)
	}
	if a.Min != nil {
		parts = append(parts, "min "+bound(*a.Min))
	}
	if a.Max != nil {
		parts = append(parts, "max "+bound(*a.Max))
	}
	if len(a.OneOf) > 0 {
		parts = append(parts, "one of "+strings.Join(a.OneOf, "|"))
	}
	if a.Pattern != "" {
		parts = append(parts, "matching "+a.Pattern)
	}
	return strings.Join(parts, ", ")
}

func ruleSummary(r sdk.Rule) string {
	switch r.Op {
	case sdk.RuleConflicts:
		return "at most one of " + strings.Join(r.Attrs, ", ")
	case sdk.RuleOneRequired:
		return "at least one of " + strings.Join(r.Attrs, ", ")
	case sdk.RuleRequires:
		return r.Attrs[0] + " needs " + strings.Join(r.Attrs[1:], ", ")
	}
	s := strings.Join(r.Attrs, " "+string(r.Op)+" ")
	if r.ZeroUnset {
		s += fmt.Sprintf(" (unless %s is 0)", r.Attrs[0])
	}
	return s
}
