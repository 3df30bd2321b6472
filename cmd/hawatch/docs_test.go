package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// manSections splits a generated hawatch(8) into its .SS/.SH sections by
// title.
func manSections(page string) map[string]string {
	out := map[string]string{}
	title := ""
	for _, l := range strings.Split(page, "\n") {
		if t, ok := strings.CutPrefix(l, ".SS "); ok {
			title = strings.Trim(t, `"`)
			continue
		}
		if t, ok := strings.CutPrefix(l, ".SH "); ok {
			title = t
			continue
		}
		out[title] += l + "\n"
	}
	return out
}

func hasFlag(section string, f *pflag.Flag) bool {
	return strings.Contains(section, `\fB\-\-`+strings.ReplaceAll(f.Name, "-", `\-`)+`\fR`)
}

// TestManPageHasEveryCommandAndFlag: hawatch(8) documents every visible
// command, each with every one of its flags, and the global flags; a flag
// added to the CLI without reaching the page fails here.
func TestManPageHasEveryCommandAndFlag(t *testing.T) {
	root := newRootCmd(newApp(io.Discard, io.Discard, false))
	var b bytes.Buffer
	if err := writeManPage(&b, root); err != nil {
		t.Fatal(err)
	}
	sections := manSections(b.String())
	var walk func(c *cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" {
				continue
			}
			n++
			title := strings.ReplaceAll(sub.CommandPath()+strings.TrimPrefix(sub.Use, sub.Name()), "-", `\-`)
			sec, ok := sections[title]
			if !ok {
				t.Errorf("command %q has no section in hawatch(8)", sub.CommandPath())
			}
			sub.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
				if !f.Hidden && !hasFlag(sec, f) {
					t.Errorf("flag --%s of %q missing from hawatch(8)", f.Name, sub.CommandPath())
				}
			})
			walk(sub)
		}
	}
	walk(root)
	if n < 9 {
		t.Errorf("only %d commands walked", n)
	}
	root.PersistentFlags().VisitAll(func(f *pflag.Flag) {
		if !hasFlag(sections["GLOBAL OPTIONS"], f) {
			t.Errorf("global flag --%s missing from hawatch(8)", f.Name)
		}
	})
	if _, ok := sections["hawatch gen\\-docs"]; ok {
		t.Error("the hidden gen-docs command is documented")
	}
}

// TestManPageRenders runs the page through man(1) with warnings on, when
// man is installed: roff mistakes show up as warnings on stderr.
func TestManPageRenders(t *testing.T) {
	if _, err := exec.LookPath("man"); err != nil {
		t.Skip("man not installed")
	}
	dir := t.TempDir()
	var out, errb bytes.Buffer
	a := newApp(&out, &errb, false)
	if code := execute(a, []string{"gen-docs", "--man", dir, "--completions", dir}); code != 0 {
		t.Fatalf("gen-docs exit %d: %s", code, errb.String())
	}
	for _, f := range []string{"hawatch.8", "hawatch.bash", "_hawatch", "hawatch.fish"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	cmd := exec.Command("man", "--warnings", "-l", filepath.Join(dir, "hawatch.8"))
	cmd.Env = append(os.Environ(), "MANPAGER=cat", "PAGER=cat", "MANWIDTH=80", "LC_ALL=C.UTF-8")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	page, err := cmd.Output()
	if err != nil {
		t.Fatalf("man: %v\n%s", err, stderr.String())
	}
	if s := strings.TrimSpace(stderr.String()); s != "" {
		t.Errorf("man warnings:\n%s", s)
	}
	if !strings.Contains(string(page), "--socket") || !strings.Contains(string(page), "GLOBAL OPTIONS") {
		t.Errorf("rendered page lacks flags:\n%s", page)
	}
}
