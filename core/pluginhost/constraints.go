package pluginhost

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hawatch/hawatch/sdk"
	"github.com/zclconf/go-cty/cty"
)

// The host checks a plugin's declarative constraints itself, so a value
// the plugin would refuse is reported by `hawatch validate` at the
// attribute's file:line:col instead of by the plugin's Configure at run
// time with no position.

// attrValidator returns the checks of a's type and constraints, or nil if
// there are none; an invalid constraint (a pattern that does not compile)
// is the plugin's mistake and is returned as an error.
func attrValidator(a sdk.Attribute) (func(cty.Value) hcl.Diagnostics, error) {
	var re *regexp.Regexp
	if a.Pattern != "" {
		var err error
		if re, err = regexp.Compile(`^(?:` + a.Pattern + `)$`); err != nil {
			return nil, fmt.Errorf("pattern of %q: %v", a.Name, err)
		}
	}
	if a.Min != nil && a.Max != nil && *a.Min > *a.Max {
		return nil, fmt.Errorf("%q has min %g above max %g", a.Name, *a.Min, *a.Max)
	}
	hasConstraint := a.Min != nil || a.Max != nil || a.NonEmpty || len(a.OneOf) > 0 || re != nil
	switch a.Type {
	case sdk.TypeDuration, sdk.TypePort, sdk.TypeAddress:
	default:
		if !hasConstraint {
			return nil, nil
		}
	}
	return func(v cty.Value) hcl.Diagnostics {
		if v.IsNull() || !v.IsKnown() {
			return nil
		}
		if msg := checkValue(a, re, v); msg != "" {
			summary := "Invalid value for " + a.Name
			if a.Type == sdk.TypeDuration && !strings.HasPrefix(msg, a.Name) {
				summary = "Invalid duration"
			}
			return hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  summary,
				Detail:   msg,
			}}
		}
		return nil
	}, nil
}

// checkValue returns why v breaks a's constraints, or "".
func checkValue(a sdk.Attribute, re *regexp.Regexp, v cty.Value) string {
	var size float64 // what Min and Max bound
	what := a.Name
	switch a.Type {
	case sdk.TypeDuration:
		d, err := time.ParseDuration(v.AsString())
		if err != nil {
			return fmt.Sprintf("%q is not a duration; use a number with a unit, such as \"250ms\", \"2s\" or \"1m30s\".", v.AsString())
		}
		if d < 0 {
			return fmt.Sprintf("%q is negative.", v.AsString())
		}
		size = d.Seconds()
		if a.Min != nil && size < *a.Min {
			return fmt.Sprintf("%s %s is below the minimum %s.", what, v.AsString(), time.Duration(*a.Min*float64(time.Second)))
		}
		if a.Max != nil && size > *a.Max {
			return fmt.Sprintf("%s %s is above the maximum %s.", what, v.AsString(), time.Duration(*a.Max*float64(time.Second)))
		}
		return ""
	case sdk.TypeNumber, sdk.TypePort:
		size, _ = v.AsBigFloat().Float64()
		if a.Type == sdk.TypePort {
			if !v.AsBigFloat().IsInt() || size < 1 || size > 65535 {
				return fmt.Sprintf("%s %s is not a port; want a whole number 1-65535.", what, v.AsBigFloat().Text('g', -1))
			}
		}
	case sdk.TypeAddress:
		s := v.AsString()
		if msg := checkAddress(s); msg != "" {
			return fmt.Sprintf("%s %q: %s", what, s, msg)
		}
		size = float64(len(s))
	case sdk.TypeString:
		size = float64(len(v.AsString()))
	case sdk.TypeListString:
		size = float64(v.LengthInt())
	case sdk.TypeBool:
		return ""
	}
	unit := ""
	if a.Type != sdk.TypeNumber && a.Type != sdk.TypePort {
		unit = " in length"
	}
	if a.NonEmpty && size == 0 {
		return fmt.Sprintf("%s must not be empty.", what)
	}
	if a.Min != nil && size < *a.Min {
		return fmt.Sprintf("%s %s is below the minimum %g%s.", what, show(v), *a.Min, unit)
	}
	if a.Max != nil && size > *a.Max {
		return fmt.Sprintf("%s %s is above the maximum %g%s.", what, show(v), *a.Max, unit)
	}
	for _, s := range strs(v) {
		if len(a.OneOf) > 0 && !slices.Contains(a.OneOf, s) {
			return fmt.Sprintf("%s %q is not one of %s.", what, s, quoteList(a.OneOf))
		}
		if re != nil && !re.MatchString(s) {
			return fmt.Sprintf("%s %q does not match the pattern %q.", what, s, a.Pattern)
		}
	}
	return ""
}

func checkAddress(s string) string {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return "want host:port, such as \"198.51.100.10:80\" or \"[2001:db8::1]:443\"."
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Sprintf("port %s is not 1-65535.", port)
	}
	return ""
}

// strs returns the string elements of v (one for a string, each for a list).
func strs(v cty.Value) []string {
	switch {
	case v.Type() == cty.String:
		return []string{v.AsString()}
	case v.Type().IsListType():
		var out []string
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if e.IsKnown() && !e.IsNull() {
				out = append(out, e.AsString())
			}
		}
		return out
	}
	return nil
}

func show(v cty.Value) string {
	switch v.Type() {
	case cty.Number:
		return v.AsBigFloat().Text('g', -1)
	case cty.String:
		return strconv.Quote(v.AsString())
	}
	return fmt.Sprintf("(%d elements)", v.LengthInt())
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = strconv.Quote(x)
	}
	return strings.Join(q, ", ")
}

// checkRules applies s's cross-field rules, and its nested blocks', to the
// decoded value val of body, reporting each at the first offending
// attribute's range.
func checkRules(s sdk.Schema, spec hcldec.ObjectSpec, body hcl.Body, val cty.Value, fallback hcl.Range) hcl.Diagnostics {
	var diags hcl.Diagnostics
	if val.IsNull() || !val.IsKnown() {
		return nil
	}
	at := func(name string) *hcl.Range {
		if sp, ok := spec[name]; ok && body != nil {
			if r := hcldec.SourceRange(body, sp); r.Filename != "" {
				return r.Ptr()
			}
		}
		return fallback.Ptr()
	}
	get := func(name string) cty.Value {
		if !val.Type().IsObjectType() || !val.Type().HasAttribute(name) {
			return cty.NullVal(cty.DynamicPseudoType)
		}
		return val.GetAttr(name)
	}
	fail := func(name, format string, args ...any) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid combination of arguments",
			Detail:   fmt.Sprintf(format, args...),
			Subject:  at(name),
		})
	}
	for _, r := range s.Rules {
		if len(r.Attrs) == 0 {
			continue
		}
		switch r.Op {
		case sdk.RuleGE, sdk.RuleGT, sdk.RuleLE, sdk.RuleLT:
			if len(r.Attrs) != 2 {
				continue
			}
			a, b := get(r.Attrs[0]), get(r.Attrs[1])
			x, okA := number(a)
			y, okB := number(b)
			if !okA || !okB || (r.ZeroUnset && x == 0) {
				continue
			}
			ok := map[sdk.RuleOp]bool{sdk.RuleGE: x >= y, sdk.RuleGT: x > y, sdk.RuleLE: x <= y, sdk.RuleLT: x < y}[r.Op]
			if !ok {
				extra := ""
				if r.ZeroUnset {
					extra = " (or 0 for none)"
				}
				fail(r.Attrs[0], "%s = %s must be %s %s = %s%s.", r.Attrs[0], showAny(a), r.Op, r.Attrs[1], showAny(b), extra)
			}
		case sdk.RuleConflicts:
			var set []string
			for _, n := range r.Attrs {
				if isSet(get(n)) {
					set = append(set, n)
				}
			}
			if len(set) > 1 {
				fail(set[1], "%s cannot be combined with %s.", set[1], set[0])
			}
		case sdk.RuleOneRequired:
			if !slices.ContainsFunc(r.Attrs, func(n string) bool { return isSet(get(n)) }) {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Missing required argument",
					Detail:   fmt.Sprintf("Set at least one of %s.", strings.Join(r.Attrs, ", ")),
					Subject:  fallback.Ptr(),
				})
			}
		case sdk.RuleRequires:
			if !isSet(get(r.Attrs[0])) {
				continue
			}
			for _, n := range r.Attrs[1:] {
				if !isSet(get(n)) {
					fail(r.Attrs[0], "%s needs %s to be set too.", r.Attrs[0], n)
				}
			}
		}
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
		diags = append(diags, checkRules(b.Schema, nested, blk.Body, get(b.Name), blk.DefRange)...)
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

// number reads a number, or a duration string as seconds.
func number(v cty.Value) (float64, bool) {
	if v.IsNull() || !v.IsKnown() {
		return 0, false
	}
	switch v.Type() {
	case cty.Number:
		f, _ := v.AsBigFloat().Float64()
		return f, true
	case cty.String:
		d, err := time.ParseDuration(v.AsString())
		if err != nil {
			return 0, false
		}
		return d.Seconds(), true
	}
	return 0, false
}

func showAny(v cty.Value) string {
	if v.Type() == cty.String {
		return v.AsString()
	}
	return show(v)
}

// isSet: present and not the zero value.
func isSet(v cty.Value) bool {
	if v.IsNull() || !v.IsKnown() {
		return false
	}
	switch {
	case v.Type() == cty.String:
		return v.AsString() != ""
	case v.Type() == cty.Number:
		return v.AsBigFloat().Sign() != 0
	case v.Type() == cty.Bool:
		return v.True()
	case v.Type().IsListType():
		return v.LengthInt() > 0
	}
	return true
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
