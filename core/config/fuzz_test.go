package config

import (
	"bytes"
	"io"
	"os"
	"testing"
)

// FuzzLoad: no input, however broken, makes the loader or the diagnostic
// writer panic. Seeds are the examples and every bad file of the rule table;
// crashers found by `go test -fuzz` land in testdata/fuzz/FuzzLoad and are
// replayed by plain `go test`.
func FuzzLoad(f *testing.F) {
	for _, path := range exampleFiles(f) {
		src, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	for _, tc := range badCases {
		f.Add([]byte(tc.src))
	}
	for _, tc := range strictBad {
		f.Add([]byte(tc.src))
	}
	// Inputs that stress the evaluator rather than the schema.
	for _, s := range []string{
		"vrrp_instance \"a\" {\n priority = 1e1000000000\n}",
		"vrrp_instance \"a\" {\n virtual_ips = [[[[[[[[[[]]]]]]]]]]\n}",
		"vrrp_instance \"a\" {\n notify = [null, {a = 1}, [\"x\"]]\n}",
		"check \"c\" {\n interval = \"9999999999999999999h\"\n}",
		"vrrp_instance \"a\" {\n interface = \"eth0\"\n virtual_router_id = 5\n priority = 9\n virtual_ips = [\"198.51.100.5\"]\n vmac {\n  name = \"v\"\n  xmit_base = true\n }\n}",
		"vrrp_instance \"a\" {\n vmac {\n  name = null\n }\n vmac {}\n}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, diags := Parse(src, "fuzz.hcl")
		if cfg == nil {
			t.Fatal("Parse returned a nil Config")
		}
		if err := WriteDiagnostics(io.Discard, cfg.Files, diags, true); err != nil {
			t.Fatal(err)
		}
		if diags.HasErrors() {
			return
		}
		// A clean load must have produced a complete, consistent Config.
		for _, in := range cfg.Instances {
			if in.VRID == 0 || in.Priority == 0 || len(in.VirtualIPs) == 0 || in.Interface == "" {
				t.Fatalf("accepted an incomplete instance: %v", in)
			}
			for _, p := range in.VirtualIPs {
				if fam := 4 + 2*btoi(p.Addr().Is6()); fam != in.Family() {
					t.Fatalf("accepted mixed families: %v", in.VirtualIPs)
				}
			}
		}
		var buf bytes.Buffer
		_ = WriteDiagnostics(&buf, cfg.Files, diags, false)
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
