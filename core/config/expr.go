package config

import (
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// decoder turns attributes into Go values and collects every problem instead
// of stopping at the first. Each helper returns true only when the attribute
// is present and valid; absent attributes produce no diagnostic, so the
// caller keeps its default. An attribute set to null counts as absent.
type decoder struct {
	diags hcl.Diagnostics
}

func (d *decoder) errorf(subject hcl.Range, summary, format string, args ...any) {
	d.diags = append(d.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  subject.Ptr(),
	})
}

// value evaluates an attribute without variables or functions: the policy is
// a static document.
func (d *decoder) value(a *hcl.Attribute, want cty.Type, what string) (cty.Value, bool) {
	if a == nil {
		return cty.NilVal, false
	}
	v, diags := a.Expr.Value(nil)
	d.diags = append(d.diags, diags...)
	if diags.HasErrors() {
		return cty.NilVal, false
	}
	return d.convert(v, want, a.Name, what, a.Range)
}

func (d *decoder) convert(v cty.Value, want cty.Type, name, what string, rng hcl.Range) (cty.Value, bool) {
	if v.IsNull() {
		return cty.NilVal, false
	}
	if !v.IsWhollyKnown() {
		d.errorf(rng, "Invalid value for "+name, "The value must be known when the file is read.")
		return cty.NilVal, false
	}
	cv, err := convert.Convert(v, want)
	if err != nil || cv.IsNull() {
		d.errorf(rng, "Invalid value for "+name, "%s must be %s.", name, what)
		return cty.NilVal, false
	}
	return cv, true
}

func (d *decoder) string(a *hcl.Attribute, dst *string) bool {
	v, ok := d.value(a, cty.String, "a string")
	if !ok {
		return false
	}
	*dst = v.AsString()
	return true
}

// nonEmpty is string plus a check that the value is not blank.
func (d *decoder) nonEmpty(a *hcl.Attribute, dst *string) bool {
	var s string
	if !d.string(a, &s) {
		return false
	}
	if strings.TrimSpace(s) == "" {
		d.errorf(a.Range, "Invalid value for "+a.Name, "%s must not be empty.", a.Name)
		return false
	}
	*dst = s
	return true
}

// oneOf is string restricted to a set of values, suggesting the closest one.
func (d *decoder) oneOf(a *hcl.Attribute, dst *string, allowed ...string) bool {
	var s string
	if !d.string(a, &s) {
		return false
	}
	for _, v := range allowed {
		if s == v {
			*dst = s
			return true
		}
	}
	d.errorf(a.Range, "Invalid value for "+a.Name, "%q is not one of %s.%s",
		s, quoteList(allowed), didYouMean(s, allowed))
	return false
}

func (d *decoder) bool(a *hcl.Attribute, dst *bool) bool {
	v, ok := d.value(a, cty.Bool, "true or false")
	if !ok {
		return false
	}
	*dst = v.True()
	return true
}

// intRange decodes a whole number and checks min <= n <= max.
func (d *decoder) intRange(a *hcl.Attribute, dst *int, lo, hi int64) bool {
	v, ok := d.value(a, cty.Number, "a number")
	if !ok {
		return false
	}
	bf := v.AsBigFloat()
	if !bf.IsInt() {
		d.errorf(a.Range, "Invalid value for "+a.Name, "%s must be a whole number, not %s.", a.Name, bf.Text('g', 10))
		return false
	}
	n, acc := bf.Int64()
	if acc != big.Exact || n < lo || n > hi {
		d.errorf(a.Range, "Invalid value for "+a.Name, "%s must be between %d and %d, not %s.", a.Name, lo, hi, bf.Text('g', 10))
		return false
	}
	*dst = int(n)
	return true
}

// duration decodes a Go duration string. Negative durations are rejected;
// zero is rejected unless allowZero.
func (d *decoder) duration(a *hcl.Attribute, dst *time.Duration, allowZero bool) bool {
	var s string
	if !d.string(a, &s) {
		return false
	}
	dur, err := time.ParseDuration(s)
	if err != nil {
		d.errorf(a.Range, "Invalid duration for "+a.Name,
			"%q is not a duration: write a number with a unit, such as \"500ms\", \"1s\" or \"2m\".", s)
		return false
	}
	if dur < 0 || (dur == 0 && !allowZero) {
		want := "greater than zero"
		if allowZero {
			want = "zero or more"
		}
		d.errorf(a.Range, "Invalid duration for "+a.Name, "%s must be %s, not %s.", a.Name, want, s)
		return false
	}
	*dst = dur
	return true
}

// listItem is one string of a list attribute with the range to blame for it.
type listItem struct {
	Value string
	Range hcl.Range
}

// stringList decodes a list of strings. When the list is written literally,
// each item keeps its own range so that a bad entry is pointed at exactly.
func (d *decoder) stringList(a *hcl.Attribute) ([]listItem, bool) {
	if a == nil {
		return nil, false
	}
	if exprs, diags := hcl.ExprList(a.Expr); !diags.HasErrors() {
		items := make([]listItem, 0, len(exprs))
		ok := true
		for _, e := range exprs {
			v, vd := e.Value(nil)
			d.diags = append(d.diags, vd...)
			if vd.HasErrors() {
				ok = false
				continue
			}
			if v.IsNull() {
				d.errorf(e.Range(), "Invalid value for "+a.Name, "%s must not contain null.", a.Name)
				ok = false
				continue
			}
			sv, good := d.convert(v, cty.String, a.Name, "a list of strings", e.Range())
			if !good {
				ok = false
				continue
			}
			items = append(items, listItem{Value: sv.AsString(), Range: e.Range()})
		}
		return items, ok
	}
	// Not a literal list (for example a null or a string): evaluate as a whole.
	v, ok := d.value(a, cty.List(cty.String), "a list of strings")
	if !ok {
		return nil, false
	}
	items := make([]listItem, 0, v.LengthInt())
	for it := v.ElementIterator(); it.Next(); {
		_, ev := it.Element()
		if ev.IsNull() {
			d.errorf(a.Range, "Invalid value for "+a.Name, "%s must not contain null.", a.Name)
			return nil, false
		}
		items = append(items, listItem{Value: ev.AsString(), Range: a.Range})
	}
	return items, true
}

func quoteList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = fmt.Sprintf("%q", v)
	}
	if len(q) <= 1 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// didYouMean returns " Did you mean "x"?" when a candidate is close to got
// (at most two edits away, like HCL's own suggestions, or a prefix such as
// "warn" for "warning"), else "".
func didYouMean(got string, candidates []string) string {
	lower := strings.ToLower(got)
	best, bestDist := "", 3
	for _, c := range candidates {
		dist := editDistance(lower, c)
		if len(c) >= 3 && strings.HasPrefix(lower, c) {
			dist = min(dist, 2)
		}
		if dist < bestDist {
			best, bestDist = c, dist
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" Did you mean %q?", best)
}

// editDistance is the Levenshtein distance in bytes; names here are ASCII.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
