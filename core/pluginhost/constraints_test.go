package pluginhost

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hawatch/hawatch/sdk"
)

var constrained = sdk.Schema{
	Attributes: []sdk.Attribute{
		{Name: "address", Type: sdk.TypeAddress},
		{Name: "port", Type: sdk.TypePort},
		{Name: "percent", Type: sdk.TypeNumber, Min: sdk.Float(0), Max: sdk.Float(100)},
		{Name: "path", Type: sdk.TypeString, NonEmpty: true, Pattern: `/.*`},
		{Name: "mode", Type: sdk.TypeString, OneOf: []string{"fast", "slow"}},
		{Name: "every", Type: sdk.TypeDuration, Min: sdk.Float(0.01), Max: sdk.Float(60)},
		{Name: "tags", Type: sdk.TypeListString, Max: sdk.Float(2), Pattern: `[a-z]+`},
		{Name: "min", Type: sdk.TypeNumber, Default: 1},
		{Name: "max", Type: sdk.TypeNumber, Default: 0},
		{Name: "send", Type: sdk.TypeString},
	},
	Blocks: []sdk.BlockSchema{{Name: "http", Schema: sdk.Schema{
		Attributes: []sdk.Attribute{{Name: "lo", Type: sdk.TypeNumber}, {Name: "hi", Type: sdk.TypeNumber}},
		Rules:      []sdk.Rule{{Op: sdk.RuleLE, Attrs: []string{"lo", "hi"}}},
	}}},
	Rules: []sdk.Rule{
		{Op: sdk.RuleGE, Attrs: []string{"max", "min"}, ZeroUnset: true},
		{Op: sdk.RuleConflicts, Attrs: []string{"http", "send"}},
		{Op: sdk.RuleRequires, Attrs: []string{"port", "address"}},
	},
}

func TestConstraints(t *testing.T) {
	fallback := hcl.Range{Filename: "node.hcl", Start: hcl.Pos{Line: 7, Column: 1}, End: hcl.Pos{Line: 7, Column: 20}}
	tests := []struct {
		name, src string
		want      []string // "summary@line:col|detail substring"; nil: valid
	}{
		{"all valid", "config {\n  address = \"198.51.100.12:80\"\n  port = 80\n  percent = 100\n  path = \"/x\"\n  mode = \"slow\"\n  every = \"1s\"\n  tags = [\"a\", \"b\"]\n  min = 2\n  max = 3\n}", nil},
		{"port out of range in an address", "config {\n  address = \"198.51.100.12:70000\"\n}",
			[]string{`Invalid value for address@2:13|port 70000 is not 1-65535`}},
		{"address without a port", "config {\n  address = \"198.51.100.12\"\n}",
			[]string{`Invalid value for address@2:13|want host:port`}},
		{"port kind", "config {\n  address = \"a:1\"\n  port = 0\n}", []string{`Invalid value for port@3:10|not a port`}},
		{"fractional port", "config {\n  address = \"a:1\"\n  port = 1.5\n}", []string{`Invalid value for port@3:10|not a port`}},
		{"max", "config {\n  percent = 150\n}", []string{`Invalid value for percent@2:13|percent 150 is above the maximum 100`}},
		{"min", "config {\n  percent = -1\n}", []string{`Invalid value for percent@2:13|below the minimum 0`}},
		{"non-empty", "config {\n  path = \"\"\n}", []string{`Invalid value for path@2:10|must not be empty`}},
		{"pattern matches in full", "config {\n  path = \"x/\"\n}", []string{`Invalid value for path@2:10|does not match the pattern`}},
		{"one of", "config {\n  mode = \"medium\"\n}", []string{`Invalid value for mode@2:10|"fast", "slow"`}},
		{"duration bound", "config {\n  every = \"5ms\"\n}", []string{`Invalid value for every@2:11|below the minimum 10ms`}},
		{"duration syntax", "config {\n  every = \"soon\"\n}", []string{`Invalid duration@2:11|not a duration`}},
		{"list length", "config {\n  tags = [\"a\", \"b\", \"c\"]\n}", []string{`Invalid value for tags@2:10|maximum 2 in length`}},
		{"list element pattern", "config {\n  tags = [\"A\"]\n}", []string{`Invalid value for tags@2:10|"A" does not match`}},
		{"min above max", "config {\n  min = 5\n  max = 2\n}", []string{`Invalid combination of arguments@3:9|max = 2 must be >= min = 5 (or 0 for none)`}},
		{"max 0 means none", "config {\n  min = 5\n  max = 0\n}", nil},
		{"conflict", "config {\n  send = \"x\"\n  http {}\n}", []string{`Invalid combination of arguments@2:10|send cannot be combined with http`}},
		{"requires", "config {\n  port = 80\n}", []string{`Invalid combination of arguments@2:10|port needs address`}},
		{"rule in a nested block", "config {\n  http {\n    lo = 3\n    hi = 2\n  }\n}", []string{`Invalid combination of arguments@3:10|lo = 3 must be <= hi = 2`}},
		{"misspelt, no close match: list the names", "config {\n  zzzzzz = 1\n}", []string{`Unsupported argument@2:3|Valid names here: address, every, http {}, max, min`}},
		{"misspelt in a nested block", "config {\n  http {\n    qqqq = 1\n  }\n}", []string{`Unsupported argument@3:5|Valid names here: hi, lo.`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, diags := DecodeConfig(constrained, parseConfigBlock(t, tt.src), fallback)
			matchDiags(t, diags, tt.want)
			if tt.want == nil && raw == nil {
				t.Error("no config for a valid block")
			}
		})
	}
}

func TestConstraintSchemaErrors(t *testing.T) {
	for _, a := range []sdk.Attribute{
		{Name: "p", Type: sdk.TypeString, Pattern: "("},
		{Name: "n", Type: sdk.TypeNumber, Min: sdk.Float(2), Max: sdk.Float(1)},
	} {
		_, diags := DecodeConfig(sdk.Schema{Attributes: []sdk.Attribute{a}}, nil, hcl.Range{Filename: "x.hcl"})
		if !diags.HasErrors() || diags[0].Summary != "Invalid plugin schema" {
			t.Errorf("%s: diags %v, want a plugin schema error", a.Name, diags)
		}
	}
}

// FuzzConstraints: any config block text against a constrained schema
// yields a value or positioned diagnostics, never a panic.
func FuzzConstraints(f *testing.F) {
	f.Add("config {\n  address = \"198.51.100.12:70000\"\n  min = 5\n  max = 2\n}")
	f.Add("config {\n  http {\n    lo = 3\n    hi = 2\n  }\n  send = \"x\"\n}")
	f.Add("config {\n  tags = [\"a\", null]\n  every = \"-1s\"\n  port = 1e300\n}")
	f.Fuzz(func(t *testing.T, src string) {
		f, diags := parseHCL(src)
		if diags.HasErrors() {
			return
		}
		_, diags = DecodeConfig(constrained, f, hcl.Range{Filename: "x.hcl"})
		for _, d := range diags {
			if d.Subject == nil {
				t.Fatalf("diagnostic without a position: %v", d)
			}
		}
	})
}

func parseHCL(src string) (hcl.Body, hcl.Diagnostics) {
	f, diags := hclsyntax.ParseConfig([]byte(src), "x.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	content, _, diags := f.Body.PartialContent(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "config"}}})
	if diags.HasErrors() || len(content.Blocks) != 1 {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError}}
	}
	return content.Blocks[0].Body, nil
}

// matchDiags compares diags with want, each "summary@line:col|detail
// substring" (line:col of the Subject's start).
func matchDiags(t *testing.T, diags hcl.Diagnostics, want []string) {
	t.Helper()
	var got []string
	for _, d := range diags {
		pos := "?"
		if d.Subject != nil {
			pos = fmt.Sprintf("%d:%d", d.Subject.Start.Line, d.Subject.Start.Column)
		}
		got = append(got, d.Summary+"@"+pos+"|"+d.Detail)
	}
	if len(got) != len(want) {
		t.Fatalf("diagnostics:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	for i, w := range want {
		head, detail, _ := strings.Cut(w, "|")
		if !strings.HasPrefix(got[i], head+"|") || !strings.Contains(got[i], detail) {
			t.Errorf("diagnostic %d = %q, want %q", i, got[i], w)
		}
	}
}
