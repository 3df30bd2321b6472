package sdk

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The constraint checks live here, on JSON-shaped values (string, float64,
// bool, []any or []string, map[string]any for a block, nil for absent), so
// the host (with positions) and the SDK's own decoding (in the plugin, and
// so in sdktest) apply the very same rules.

// CheckDeclaration reports a mistake in a's constraints themselves (a
// pattern that does not compile, min above max).
func CheckDeclaration(a Attribute) error {
	if a.Pattern != "" {
		if _, err := compilePattern(a.Pattern); err != nil {
			return fmt.Errorf("pattern of %q: %v", a.Name, err)
		}
	}
	if a.Min != nil && a.Max != nil && *a.Min > *a.Max {
		return fmt.Errorf("%q has min %g above max %g", a.Name, *a.Min, *a.Max)
	}
	return nil
}

// compilePattern anchors p: a pattern must match the whole value.
func compilePattern(p string) (*regexp.Regexp, error) {
	return regexp.Compile(`^(?:` + p + `)$`)
}

// HasChecks says whether CheckAttribute can refuse anything for a.
func HasChecks(a Attribute) bool {
	switch a.Type {
	case TypeDuration, TypePort, TypeAddress:
		return true
	}
	return a.Min != nil || a.Max != nil || a.NonEmpty || len(a.OneOf) > 0 || a.Pattern != ""
}

// CheckAttribute returns why v breaks a's type kind or constraints, or ""
// if it does not (or is nil: absence is Required's business). Min and Max
// bound a number or port; a duration in seconds; the length of a string
// or list.
func CheckAttribute(a Attribute, v any) string {
	if v == nil {
		return ""
	}
	var size float64
	unit := " in length"
	switch a.Type {
	case TypeDuration:
		s, _ := v.(string)
		if s == "" {
			s = "0s" // an empty duration is zero, as sdk.Duration reads it
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Sprintf("%q is not a duration; use a number with a unit, such as \"250ms\", \"2s\" or \"1m30s\".", s)
		}
		if d < 0 {
			return fmt.Sprintf("%q is negative.", s)
		}
		if a.Min != nil && d.Seconds() < *a.Min {
			return fmt.Sprintf("%s %s is below the minimum %s.", a.Name, s, seconds(*a.Min))
		}
		if a.Max != nil && d.Seconds() > *a.Max {
			return fmt.Sprintf("%s %s is above the maximum %s.", a.Name, s, seconds(*a.Max))
		}
		return ""
	case TypeNumber, TypePort:
		f, ok := v.(float64)
		if !ok {
			return fmt.Sprintf("%s: want a number.", a.Name)
		}
		if a.Type == TypePort && (f != float64(int64(f)) || f < 1 || f > 65535) {
			return fmt.Sprintf("%s %g is not a port; want a whole number 1-65535.", a.Name, f)
		}
		size, unit = f, ""
	case TypeAddress:
		s, _ := v.(string)
		if msg := checkAddress(s); msg != "" {
			return fmt.Sprintf("%s %q: %s", a.Name, s, msg)
		}
		size = float64(len(s))
	case TypeString:
		s, _ := v.(string)
		size = float64(len(s))
	case TypeListString:
		size = float64(len(stringsOf(v)))
	default:
		return ""
	}
	if a.NonEmpty && size == 0 {
		return fmt.Sprintf("%s must not be empty.", a.Name)
	}
	if a.Min != nil && size < *a.Min {
		return fmt.Sprintf("%s %s is below the minimum %g%s.", a.Name, show(v), *a.Min, unit)
	}
	if a.Max != nil && size > *a.Max {
		return fmt.Sprintf("%s %s is above the maximum %g%s.", a.Name, show(v), *a.Max, unit)
	}
	var re *regexp.Regexp
	if a.Pattern != "" {
		var err error
		if re, err = compilePattern(a.Pattern); err != nil {
			return fmt.Sprintf("%s: the plugin's pattern does not compile: %v", a.Name, err)
		}
	}
	for _, s := range stringsOf(v) {
		if len(a.OneOf) > 0 && !slices.Contains(a.OneOf, s) {
			return fmt.Sprintf("%s %q is not one of %s.", a.Name, s, quoteList(a.OneOf))
		}
		if re != nil && !re.MatchString(s) {
			return fmt.Sprintf("%s %q does not match the pattern %q.", a.Name, s, a.Pattern)
		}
	}
	return ""
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

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

func stringsOf(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []string:
		return x
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func show(v any) string {
	switch x := v.(type) {
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		return strconv.Quote(x)
	}
	return fmt.Sprintf("(%d elements)", len(stringsOf(v)))
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = strconv.Quote(x)
	}
	return strings.Join(q, ", ")
}

// RuleError is one broken Rule: Attr is the attribute to blame ("" for the
// block as a whole).
type RuleError struct {
	Attr    string
	Missing bool // a RuleOneRequired: nothing to point at
	Msg     string
}

// CheckRules applies rules to a decoded block (attribute name → JSON-shaped
// value).
func CheckRules(rules []Rule, obj map[string]any) []RuleError {
	var out []RuleError
	for _, r := range rules {
		if len(r.Attrs) == 0 {
			continue
		}
		switch r.Op {
		case RuleGE, RuleGT, RuleLE, RuleLT:
			if len(r.Attrs) != 2 {
				continue
			}
			a, b := obj[r.Attrs[0]], obj[r.Attrs[1]]
			x, okA := number(a)
			y, okB := number(b)
			if !okA || !okB || (r.ZeroUnset && x == 0) {
				continue
			}
			ok := map[RuleOp]bool{RuleGE: x >= y, RuleGT: x > y, RuleLE: x <= y, RuleLT: x < y}[r.Op]
			if !ok {
				extra := ""
				if r.ZeroUnset {
					extra = " (or 0 for none)"
				}
				out = append(out, RuleError{Attr: r.Attrs[0], Msg: fmt.Sprintf("%s = %s must be %s %s = %s%s.",
					r.Attrs[0], plain(a), r.Op, r.Attrs[1], plain(b), extra)})
			}
		case RuleConflicts:
			var set []string
			for _, n := range r.Attrs {
				if isSet(obj[n]) {
					set = append(set, n)
				}
			}
			if len(set) > 1 {
				out = append(out, RuleError{Attr: set[1], Msg: fmt.Sprintf("%s cannot be combined with %s.", set[1], set[0])})
			}
		case RuleOneRequired:
			if !slices.ContainsFunc(r.Attrs, func(n string) bool { return isSet(obj[n]) }) {
				out = append(out, RuleError{Missing: true, Msg: fmt.Sprintf("Set at least one of %s.", strings.Join(r.Attrs, ", "))})
			}
		case RuleRequires:
			if !isSet(obj[r.Attrs[0]]) {
				continue
			}
			for _, n := range r.Attrs[1:] {
				if !isSet(obj[n]) {
					out = append(out, RuleError{Attr: r.Attrs[0], Msg: fmt.Sprintf("%s needs %s to be set too.", r.Attrs[0], n)})
				}
			}
		}
	}
	return out
}

// number reads a number, or a duration string as seconds.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case string:
		d, err := time.ParseDuration(x)
		return d.Seconds(), err == nil
	}
	return 0, false
}

func plain(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return show(v)
}

// isSet: present and not the zero value.
func isSet(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case float64:
		return x != 0
	case bool:
		return x
	case []any:
		return len(x) > 0
	case []string:
		return len(x) > 0
	}
	return true
}
