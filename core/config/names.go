package config

import (
	"reflect"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// listValidNames adds the names valid where a misspelt attribute or block
// is to HCL's "Unsupported argument" / "Unsupported block type"
// diagnostics that found no close match ("Did you mean"), so the user
// always learns what could be written there. The names come from the
// schema structs (load.go), found by following the blocks that enclose the
// mistake.
func listValidNames(body hcl.Body, diags hcl.Diagnostics) {
	root, ok := body.(*hclsyntax.Body)
	if !ok {
		return
	}
	for _, d := range diags {
		if (d.Summary != "Unsupported argument" && d.Summary != "Unsupported block type") ||
			strings.Contains(d.Detail, "Did you mean") || d.Subject == nil {
			continue
		}
		if names := specNames(reflect.TypeFor[fileSchema](), root, d.Subject.Start); len(names) > 0 {
			d.Detail += " Valid names here: " + strings.Join(names, ", ") + "."
		}
	}
}

// specNames walks down from the schema struct t decoding body to the
// innermost block holding pos and returns the attribute and block names
// that block's struct takes.
func specNames(t reflect.Type, body *hclsyntax.Body, pos hcl.Pos) []string {
	for _, b := range body.Blocks {
		if !b.Range().ContainsPos(pos) || b.Body == nil || !b.Body.Range().ContainsPos(pos) {
			continue
		}
		if inner := blockType(t, b.Type); inner != nil {
			return specNames(inner, b.Body, pos)
		}
		return nil // a free-form block (config {}): its plugin checks it
	}
	var names []string
	for f := range t.Fields() {
		name, kind, _ := strings.Cut(f.Tag.Get("hcl"), ",")
		if name != "" && (kind == "attr" || kind == "block") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// blockType is the struct decoding blocks of type typ inside t, nil when
// t has no such block or decodes it as a free-form body.
func blockType(t reflect.Type, typ string) reflect.Type {
	for f := range t.Fields() {
		if f.Tag.Get("hcl") != typ+",block" {
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Slice || ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		for g := range ft.Fields() {
			if strings.HasSuffix(g.Tag.Get("hcl"), ",remain") {
				return nil
			}
		}
		return ft
	}
	return nil
}
