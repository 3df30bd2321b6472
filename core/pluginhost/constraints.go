package pluginhost

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hawatch/hawatch/sdk"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// The host checks a plugin's declarative constraints itself, so a value
// the plugin would refuse is reported by `hawatch validate` at the
// attribute's file:line:col instead of by the plugin's Configure at run
// time with no position.

// attrValidator returns the checks of a's type and constraints (the SDK's
// own, so host and plugin agree), or nil if there are none; an invalid
// constraint is the plugin's mistake and is returned as an error.
func attrValidator(a sdk.Attribute) (func(cty.Value) hcl.Diagnostics, error) {
	if err := sdk.CheckDeclaration(a); err != nil {
		return nil, err
	}
	if !sdk.HasChecks(a) {
		return nil, nil
	}
	return func(v cty.Value) hcl.Diagnostics {
		if v.IsNull() || !v.IsKnown() {
			return nil
		}
		msg := sdk.CheckAttribute(a, goValue(v))
		if msg == "" {
			return nil
		}
		summary := "Invalid value for " + a.Name
		if a.Type == sdk.TypeDuration && !strings.HasPrefix(msg, a.Name) {
			summary = "Invalid duration"
		}
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: msg}}
	}, nil
}

// goValue is v in its JSON shape, as the plugin will see it.
func goValue(v cty.Value) any {
	if v.IsNull() || !v.IsKnown() {
		return nil
	}
	b, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return nil
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return nil
	}
	return out
}

// checkRules applies s's cross-field rules, and its nested blocks', to the
// decoded value val of body, reporting each at the offending attribute.
func checkRules(s sdk.Schema, spec hcldec.ObjectSpec, body hcl.Body, val cty.Value, fallback hcl.Range) hcl.Diagnostics {
	var diags hcl.Diagnostics
	if val.IsNull() || !val.IsKnown() {
		return nil
	}
	obj, _ := goValue(val).(map[string]any)
	for _, e := range sdk.CheckRules(s.Rules, obj) {
		at := fallback
		if sp, ok := spec[e.Attr]; ok && body != nil && !e.Missing {
			if r := hcldec.SourceRange(body, sp); r.Filename != "" {
				at = r
			}
		}
		summary := "Invalid combination of arguments"
		if e.Missing {
			summary = "Missing required argument"
		}
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: e.Msg, Subject: at.Ptr()})
	}
	for _, b := range s.Blocks {
		inner, ok := spec[b.Name]
		if !ok || body == nil {
			continue
		}
		nested := innerObjectSpec(inner)
		content, _, _ := body.PartialContent(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: b.Name}}})
		if nested == nil || content == nil || len(content.Blocks) == 0 {
			continue
		}
		blk := content.Blocks[0]
		diags = append(diags, checkRules(b.Schema, nested, blk.Body, val.GetAttr(b.Name), blk.DefRange)...)
	}
	return diags
}

func innerObjectSpec(s hcldec.Spec) hcldec.ObjectSpec {
	switch sp := s.(type) {
	case *hcldec.DefaultSpec:
		return innerObjectSpec(sp.Primary)
	case *hcldec.BlockSpec:
		if o, ok := sp.Nested.(hcldec.ObjectSpec); ok {
			return o
		}
	}
	return nil
}

// listValidNames adds the valid names to an "Unsupported argument" or
// "Unsupported block type" diagnostic that has no close-match suggestion,
// so a misspelt attribute always tells the user what they could write.
func listValidNames(s sdk.Schema, body hcl.Body, diags hcl.Diagnostics) hcl.Diagnostics {
	for _, d := range diags {
		if d.Summary != "Unsupported argument" && d.Summary != "Unsupported block type" {
			continue
		}
		if strings.Contains(d.Detail, "Did you mean") {
			continue
		}
		names := namesAt(s, body, d.Subject)
		if len(names) == 0 {
			d.Detail += " This block takes no arguments."
			continue
		}
		d.Detail += " Valid names here: " + strings.Join(names, ", ") + "."
	}
	return diags
}

// namesAt returns the names valid in the (possibly nested) block of body
// whose range holds at.
func namesAt(s sdk.Schema, body hcl.Body, at *hcl.Range) []string {
	if body != nil && at != nil {
		for _, b := range s.Blocks {
			content, _, _ := body.PartialContent(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: b.Name}}})
			if content == nil {
				continue
			}
			for _, blk := range content.Blocks {
				if r, ok := blk.Body.(interface{ Range() hcl.Range }); ok && r.Range().Overlaps(*at) {
					return namesAt(b.Schema, blk.Body, at)
				}
			}
		}
	}
	var names []string
	for _, a := range s.Attributes {
		names = append(names, a.Name)
	}
	for _, b := range s.Blocks {
		names = append(names, b.Name+" {}")
	}
	slices.Sort(names)
	return names
}
