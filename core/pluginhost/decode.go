package pluginhost

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hawatch/hawatch/sdk"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// DecodeConfig decodes a check's or action's `config {}` body against the
// plugin's schema, on the plugin's behalf: types are converted, durations
// parsed, defaults applied and unknown attributes refused (HCL suggests the
// closest name), all with file:line:col diagnostics. The result is the
// JSON object Configure sends to the plugin.
//
// body may be nil (no config block): it decodes as an empty block, and
// missing required attributes or blocks are reported at fallback, which
// should be the range of the enclosing check or action block.
func DecodeConfig(s sdk.Schema, body hcl.Body, fallback hcl.Range) (json.RawMessage, hcl.Diagnostics) {
	spec, diags := buildSpec(s, "", fallback)
	if diags.HasErrors() {
		return nil, diags
	}
	if body == nil {
		body = emptyBody{rng: fallback}
	}
	val, valDiags := hcldec.Decode(body, spec, nil)
	diags = append(diags, listValidNames(s, body, valDiags)...)
	if diags.HasErrors() {
		return nil, diags
	}
	diags = append(diags, checkRules(s, spec, body, val, fallback)...)
	if diags.HasErrors() {
		return nil, diags
	}
	out, err := ctyjson.Marshal(val, val.Type())
	if err != nil {
		return nil, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Cannot encode plugin config",
			Detail:   err.Error(),
			Subject:  fallback.Ptr(),
		})
	}
	return out, diags
}

// schemaError reports a mistake in the plugin's schema, not the user's
// config; it points at the config block because that is what the user can
// see, and names the plugin's attribute.
func schemaError(fallback hcl.Range, format string, args ...any) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid plugin schema",
		Detail:   "The plugin declares an invalid config schema: " + fmt.Sprintf(format, args...) + ".",
		Subject:  fallback.Ptr(),
	}
}

func ctyType(t sdk.Type) (cty.Type, bool) {
	switch t {
	case sdk.TypeString, sdk.TypeDuration, sdk.TypeAddress:
		return cty.String, true
	case sdk.TypeNumber, sdk.TypePort:
		return cty.Number, true
	case sdk.TypeBool:
		return cty.Bool, true
	case sdk.TypeListString:
		return cty.List(cty.String), true
	default:
		return cty.NilType, false
	}
}

func buildSpec(s sdk.Schema, path string, fallback hcl.Range) (hcldec.ObjectSpec, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	spec := hcldec.ObjectSpec{}
	for _, a := range s.Attributes {
		name := path + a.Name
		if a.Name == "" {
			diags = append(diags, schemaError(fallback, "an attribute in %q has no name", path))
			continue
		}
		if _, dup := spec[a.Name]; dup {
			diags = append(diags, schemaError(fallback, "%q is declared twice", name))
			continue
		}
		typ, ok := ctyType(a.Type)
		if !ok {
			diags = append(diags, schemaError(fallback, "attribute %q has unknown type %q", name, a.Type))
			continue
		}
		var attr hcldec.Spec = &hcldec.AttrSpec{Name: a.Name, Type: typ, Required: a.Required}
		check, err := attrValidator(a)
		if err != nil {
			diags = append(diags, schemaError(fallback, "%v", err))
			continue
		}
		if check != nil {
			attr = &hcldec.ValidateSpec{Wrapped: attr, Func: check}
		}
		if a.Default != nil {
			if a.Required {
				diags = append(diags, schemaError(fallback, "attribute %q is required and has a default", name))
				continue
			}
			def, err := defaultValue(a.Default, typ)
			if err == nil && a.Type == sdk.TypeDuration {
				if _, perr := time.ParseDuration(def.AsString()); perr != nil {
					err = perr
				}
			}
			if err != nil {
				diags = append(diags, schemaError(fallback, "default of %q: %v", name, err))
				continue
			}
			attr = &hcldec.DefaultSpec{Primary: attr, Default: &hcldec.LiteralSpec{Value: def}}
		}
		spec[a.Name] = attr
	}
	for _, b := range s.Blocks {
		name := path + b.Name
		if b.Name == "" {
			diags = append(diags, schemaError(fallback, "a block in %q has no name", path))
			continue
		}
		if _, dup := spec[b.Name]; dup {
			diags = append(diags, schemaError(fallback, "%q is declared twice", name))
			continue
		}
		nested, nestedDiags := buildSpec(b.Schema, name+".", fallback)
		diags = append(diags, nestedDiags...)
		var blk hcldec.Spec = &hcldec.BlockSpec{TypeName: b.Name, Nested: nested, Required: b.Required}
		// An absent optional block still yields its defaults, so plugins
		// see one shape; if the block has required attributes it stays
		// null instead.
		if !b.Required {
			if def, d := hcldec.Decode(emptyBody{rng: fallback}, nested, nil); !d.HasErrors() {
				blk = &hcldec.DefaultSpec{Primary: blk, Default: &hcldec.LiteralSpec{Value: def}}
			}
		}
		spec[b.Name] = blk
	}
	return spec, diags
}

// defaultValue converts a schema default (Go value, or its JSON round trip
// after the wire or the schema cache) to typ.
func defaultValue(v any, typ cty.Type) (cty.Value, error) {
	var val cty.Value
	switch d := v.(type) {
	case string:
		val = cty.StringVal(d)
	case bool:
		val = cty.BoolVal(d)
	case int:
		val = cty.NumberIntVal(int64(d))
	case int64:
		val = cty.NumberIntVal(d)
	case float64:
		val = cty.NumberFloatVal(d)
	case []string:
		if len(d) == 0 {
			return cty.ListValEmpty(cty.String), nil
		}
		elems := make([]cty.Value, len(d))
		for i, s := range d {
			elems[i] = cty.StringVal(s)
		}
		val = cty.ListVal(elems)
	case []any:
		if len(d) == 0 {
			return cty.ListValEmpty(cty.String), nil
		}
		elems := make([]cty.Value, len(d))
		for i, e := range d {
			s, ok := e.(string)
			if !ok {
				return cty.NilVal, fmt.Errorf("list element %d is %T, want string", i, e)
			}
			elems[i] = cty.StringVal(s)
		}
		val = cty.ListVal(elems)
	default:
		return cty.NilVal, fmt.Errorf("unsupported default type %T", v)
	}
	out, err := convert.Convert(val, typ)
	if err != nil {
		return cty.NilVal, fmt.Errorf("%#v does not fit %s", v, typ.FriendlyName())
	}
	return out, nil
}

// emptyBody stands in for an absent config block; unlike hcl.EmptyBody it
// reports missing required attributes at a real location.
type emptyBody struct{ rng hcl.Range }

func (b emptyBody) Content(s *hcl.BodySchema) (*hcl.BodyContent, hcl.Diagnostics) {
	c, _, diags := b.PartialContent(s)
	return c, diags
}

func (b emptyBody) PartialContent(s *hcl.BodySchema) (*hcl.BodyContent, hcl.Body, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	for _, a := range s.Attributes {
		if a.Required {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Missing required argument",
				Detail:   fmt.Sprintf("The argument %q is required, but no definition was found.", a.Name),
				Subject:  b.rng.Ptr(),
			})
		}
	}
	return &hcl.BodyContent{Attributes: hcl.Attributes{}, MissingItemRange: b.rng}, b, diags
}

func (b emptyBody) JustAttributes() (hcl.Attributes, hcl.Diagnostics) {
	return hcl.Attributes{}, nil
}

func (b emptyBody) MissingItemRange() hcl.Range { return b.rng }
