package convert

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/hawatch/hawatch/core/config"
)

// converterBugs are loader diagnostics that no keepalived input can
// justify: they mean the converter wrote something inconsistent (a name
// used twice, a reference to a block it did not write, an attribute the
// schema does not have).
var converterBugs = []string{
	"Unsupported argument", "Unsupported block type", "Missing name for",
	"Duplicate plugin block", "Duplicate check block", "Duplicate action block",
	"Duplicate vrrp_instance block", "Duplicate sync_group block", "Duplicate track",
	"Duplicate action in notify", "Reference to undefined",
}

// FuzzConvert: no input makes Convert panic; a refused input is a
// SyntaxError with a line inside the file; an accepted one yields HCL that
// parses, whose loader diagnostics are about the keepalived values only,
// and whose warnings point inside the file. Crashers land in
// testdata/fuzz/FuzzConvert and are replayed by plain `go test`.
func FuzzConvert(f *testing.F) {
	confs, err := filepath.Glob(filepath.Join("testdata", "*.conf"))
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range confs {
		src, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	for _, s := range []string{
		"vrrp_instance \"${x}\" {\n interface \"%{y}\"\n virtual_ipaddress {\n 1.2.3.4\n }\n}",
		"vrrp_script a {\n script \"\x00\xff\"\n}\nvrrp_instance b {\n track_script {\n a weight 9999999999999999999\n }\n}",
		"global_defs {\n router_id \"a\\\"b\"\n notification_email {\n \"x\ny\"\n }\n smtp_server ::1\n}",
		"vrrp_sync_group g {\n group {\n i i j\n }\n}\nvrrp_instance i {\n}\nvrrp_instance j {\n}",
		"vrrp_track_process a {\n process \"/x y\" \"a b\"\n param_match partial\n}\nvrrp_script a {\n script x\n}",
		"vrrp_instance a {\n notify_master \"\" \n notify \"'' x\"\n}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		lines := strings.Count(string(src), "\n") + 1
		out, warns, err := Convert(src, "fuzz.conf")
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) {
				t.Fatalf("error %v is not a SyntaxError", err)
			}
			if se.Line < 1 || se.Line > lines || out != nil {
				t.Fatalf("error %v: line outside 1..%d, or a policy returned too", err, lines)
			}
			return
		}
		for _, w := range warns {
			if w.Line < 0 || w.Line > lines || w.Message == "" {
				t.Fatalf("warning %v: line outside 0..%d or empty", w, lines)
			}
		}
		if _, diags := hclparse.NewParser().ParseHCL(out, "fuzz.hcl"); diags.HasErrors() {
			t.Fatalf("output is not valid HCL: %v\n%s", diags, out)
		}
		_, diags := config.Parse(out, "fuzz.hcl")
		for _, d := range diags {
			for _, bug := range converterBugs {
				if strings.HasPrefix(d.Summary, bug) {
					t.Fatalf("converter wrote an inconsistent policy: %v\n%s", d, out)
				}
			}
		}
	})
}
