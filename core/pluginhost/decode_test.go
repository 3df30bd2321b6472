package pluginhost

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hawatch/hawatch/sdk"
)

var testSchema = sdk.Schema{
	Attributes: []sdk.Attribute{
		{Name: "url", Type: sdk.TypeString, Required: true},
		{Name: "status", Type: sdk.TypeNumber, Default: 200},
		{Name: "timeout", Type: sdk.TypeDuration, Default: "1s"},
		{Name: "headers", Type: sdk.TypeListString},
		{Name: "follow", Type: sdk.TypeBool, Default: false},
	},
	Blocks: []sdk.BlockSchema{
		{Name: "tls", Schema: sdk.Schema{Attributes: []sdk.Attribute{
			{Name: "insecure", Type: sdk.TypeBool, Default: false},
			{Name: "ca", Type: sdk.TypeString},
		}}},
		{Name: "auth", Schema: sdk.Schema{Attributes: []sdk.Attribute{
			{Name: "user", Type: sdk.TypeString, Required: true},
		}}},
	},
}

// parseConfigBlock parses src (a whole file holding one `config {}` block)
// and returns that block's body.
func parseConfigBlock(t *testing.T, src string) hcl.Body {
	t.Helper()
	f, diags := hclsyntax.ParseConfig([]byte(src), "node.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("parse: %v", diags)
	}
	content, diags := f.Body.Content(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "config"}}})
	if diags.HasErrors() || len(content.Blocks) != 1 {
		t.Fatalf("config block: %v", diags)
	}
	return content.Blocks[0].Body
}

func TestDecodeConfig(t *testing.T) {
	fallback := hcl.Range{Filename: "node.hcl", Start: hcl.Pos{Line: 7, Column: 1, Byte: 90}, End: hcl.Pos{Line: 7, Column: 20, Byte: 109}}
	tests := []struct {
		name   string
		schema sdk.Schema
		src    string // "" means no config block (nil body)
		want   map[string]any
		// wantDiags lists "summary@line:col" (line:col of Subject.Start),
		// plus an optional "|detail substring".
		wantDiags []string
	}{
		{
			name:   "all attributes and a nested block",
			schema: testSchema,
			src: `config {
  url     = "http://198.51.100.10/health"
  status  = 204
  timeout = "250ms"
  headers = ["Host: a", "X: b"]
  tls {
    insecure = true
  }
}`,
			want: map[string]any{
				"url": "http://198.51.100.10/health", "status": 204.0, "timeout": "250ms",
				"headers": []any{"Host: a", "X: b"}, "follow": false,
				"tls":  map[string]any{"insecure": true, "ca": nil},
				"auth": nil,
			},
		},
		{
			name:   "defaults fill omitted attributes and blocks",
			schema: testSchema,
			src:    "config {\n  url = \"http://x\"\n}",
			want: map[string]any{
				"url": "http://x", "status": 200.0, "timeout": "1s", "headers": nil, "follow": false,
				"tls": map[string]any{"insecure": false, "ca": nil}, "auth": nil,
			},
		},
		{
			name:   "no config block, nothing required",
			schema: sdk.Schema{Attributes: []sdk.Attribute{{Name: "n", Type: sdk.TypeNumber, Default: 3}}},
			want:   map[string]any{"n": 3.0},
		},
		{
			name:      "no config block, required attribute reported at the check",
			schema:    testSchema,
			wantDiags: []string{`Missing required argument@7:1|"url"`},
		},
		{
			name:   "unknown attribute suggests the closest name",
			schema: testSchema,
			src:    "config {\n  url = \"http://x\"\n  stauts = 200\n}",
			wantDiags: []string{
				`Unsupported argument@3:3|Did you mean "status"?`,
			},
		},
		{
			name:      "wrong type is positioned on the value",
			schema:    testSchema,
			src:       "config {\n  url = \"http://x\"\n  status = \"ok\"\n}",
			wantDiags: []string{`Incorrect attribute value type@3:12|a number is required`},
		},
		{
			name:      "bad duration is positioned on the value",
			schema:    testSchema,
			src:       "config {\n  url     = \"http://x\"\n  timeout = \"5 parsecs\"\n}",
			wantDiags: []string{`Invalid duration@3:13|"5 parsecs"`},
		},
		{
			name:      "negative duration",
			schema:    testSchema,
			src:       "config {\n  url     = \"http://x\"\n  timeout = \"-1s\"\n}",
			wantDiags: []string{`Invalid duration@3:13|negative`},
		},
		{
			name:      "required attribute missing in a present block",
			schema:    testSchema,
			src:       "config {\n  status = 200\n}",
			wantDiags: []string{`Missing required argument@1:8|"url"`},
		},
		{
			name:      "required attribute missing in a nested block",
			schema:    testSchema,
			src:       "config {\n  url = \"http://x\"\n  auth {\n  }\n}",
			wantDiags: []string{`Missing required argument@3:8|"user"`},
		},
		{
			name:      "duplicate nested block",
			schema:    testSchema,
			src:       "config {\n  url = \"http://x\"\n  tls {}\n  tls {}\n}",
			wantDiags: []string{`Duplicate tls block@4:3`},
		},
		{
			name: "required nested block missing",
			schema: sdk.Schema{Blocks: []sdk.BlockSchema{
				{Name: "http", Required: true, Schema: sdk.Schema{}},
			}},
			src:       "config {\n}",
			wantDiags: []string{`Missing http block@1:8`},
		},
		{
			name:      "variables are not allowed",
			schema:    testSchema,
			src:       "config {\n  url = var.url\n}",
			wantDiags: []string{`Variables not allowed@2:9`},
		},
		{
			name:      "plugin schema with an unknown type is blamed on the plugin",
			schema:    sdk.Schema{Attributes: []sdk.Attribute{{Name: "x", Type: "map"}}},
			src:       "config {\n}",
			wantDiags: []string{`Invalid plugin schema@7:1|unknown type "map"`},
		},
		{
			name:      "plugin default of the wrong type",
			schema:    sdk.Schema{Attributes: []sdk.Attribute{{Name: "x", Type: sdk.TypeBool, Default: "yes please"}}},
			wantDiags: []string{`Invalid plugin schema@7:1|default of "x"`},
		},
		{
			name: "defaults after a JSON round trip (schema cache)",
			schema: sdk.Schema{Attributes: []sdk.Attribute{
				{Name: "l", Type: sdk.TypeListString, Default: []any{"a"}},
				{Name: "n", Type: sdk.TypeNumber, Default: 1.5},
			}},
			want: map[string]any{"l": []any{"a"}, "n": 1.5},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body hcl.Body
			if tt.src != "" {
				body = parseConfigBlock(t, tt.src)
			}
			raw, diags := DecodeConfig(tt.schema, body, fallback)
			matchDiags(t, diags, tt.wantDiags)
			if tt.wantDiags != nil {
				if raw != nil {
					t.Errorf("got config %s despite errors", raw)
				}
				return
			}
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatalf("result %s: %v", raw, err)
			}
			if !reflect.DeepEqual(m, tt.want) {
				t.Errorf("config = %s\nwant      %v", raw, tt.want)
			}
		})
	}
}
