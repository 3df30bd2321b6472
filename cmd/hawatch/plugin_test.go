package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hawatch/hawatch/core/pluginhost"
	"github.com/hawatch/hawatch/sdk"
)

func TestPluginNew(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mod")
	code, out, errOut := run(t, "plugin", "new", "disk_free", "--dir", dir, "--sdk", "/src/hawatch")
	if code != 0 || !strings.Contains(out, "go mod tidy") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	want := map[string]string{
		"go.mod":        "replace github.com/hawatch/hawatch => /src/hawatch",
		"main.go":       "sdk.Serve(&check{})",
		"check.go":      `Name: "disk_free"`,
		"check_test.go": "sdktest.Check(t, &check{})",
		"README.md":     "The `replace` line in go.mod",
	}
	for f, s := range want {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || !strings.Contains(string(b), s) || strings.Contains(string(b), "{{.") {
			t.Errorf("%s: %v; want %q and no placeholder left:\n%s", f, err, s, b)
		}
	}
	// A second run must not overwrite the author's work.
	if code, _, errOut := run(t, "plugin", "new", "disk_free", "--dir", dir); code == 0 || !strings.Contains(errOut, "not empty") {
		t.Errorf("second scaffold into %s: exit %d %s", dir, code, errOut)
	}
	for _, bad := range []string{"Disk", "1x", "a/b", "a-b", ""} {
		if code, _, _ := run(t, "plugin", "new", bad, "--dir", filepath.Join(t.TempDir(), "x")); code != exitUsage {
			t.Errorf("name %q: exit %d, want %d", bad, code, exitUsage)
		}
	}
}

func TestDescribeOutput(t *testing.T) {
	type cfg struct {
		Addr  string       `hawatch:"address,required,kind=address" doc:"where to connect"`
		Every sdk.Duration `hawatch:"every,min=10ms" default:"1s"`
		Min   int          `hawatch:"min" default:"1"`
		Max   int          `hawatch:"max,ge=min,zero_unset" default:"0"`
		Mode  string       `hawatch:"mode" oneof:"a|b" default:"a"`
		TLS   *struct {
			CA string `hawatch:"ca"`
		} `hawatch:"tls"`
	}
	var b bytes.Buffer
	writeDescription(&b, pluginhost.Description{Info: sdk.Info{Name: "x", Kind: sdk.KindCheck, Version: "1"}, Schema: sdk.SchemaOf[cfg]()})
	for _, s := range []string{"x: check plugin, version 1", "# where to connect\n  address = address, required",
		`every = duration, default "1s", min 10ms`, "mode = string, default \"a\", one of a|b", "tls {  # optional block\n    ca = string\n  }",
		"# rule: max >= min (unless max is 0)"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("no %q in:\n%s", s, b.String())
		}
	}
}
