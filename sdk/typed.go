package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A plugin declares its `config {}` block once, as a Go struct with tags,
// and embeds Configured[ThatStruct]: the schema the host checks, the
// decoding, the defaults, the constraints and a race-free current value all
// come from that one declaration.
//
//	type config struct {
//		Path    string        `hawatch:"path,required,nonempty" doc:"directory to watch"`
//		MinFree float64       `hawatch:"min_free_percent,min=0,max=100" default:"10" doc:"..."`
//		Every   time.Duration `hawatch:"every,min=10ms" default:"1s"`
//		Mode    string        `hawatch:"mode" oneof:"fast|slow" default:"fast"`
//		Host    string        `hawatch:"host,kind=address" doc:"host:port"`
//		TLS     *tlsConfig    `hawatch:"tls" doc:"an optional tls {} block"`
//	}
//
// The `hawatch` tag is the attribute's name followed by options:
// required, nonempty, kind=port or kind=address, min=N and max=N (a number;
// a duration such as 10ms for a duration; the length of a string or
// list), and cross-field rules naming another attribute of the same block:
// ge=, gt=, le=, lt= (with zero_unset: skipped while this one is 0),
// conflicts=, requires=, one_required=a|b (at least one of this and a, b).
// Other tags: default (the HCL value as text; a list as a,b), oneof
// (a|b|c), pattern (an RE2 expression the whole value must match), doc.
//
// Field types: string, bool, any int, uint or float, time.Duration or
// sdk.Duration, []string, a pointer to one of those, and a struct (a
// nested block, always present with its defaults) or a pointer to a
// struct (nil when the block is absent). Untagged fields are ignored, so a
// config may carry derived state (a compiled regexp) that its
// `Validate() error` method, if it has one, fills in after decoding.

// Configured gives a plugin Schema and Configure from its config struct C;
// Config returns the current value. Embed it in the plugin type.
type Configured[C any] struct {
	cur atomic.Pointer[C]
}

// Schema implements Base. A malformed tag on C panics: it is a programming
// error the plugin's first test (or `hawatch plugin describe`) shows.
func (c *Configured[C]) Schema() Schema { return SchemaOf[C]() }

// Configure implements Base: it decodes the host's config, applies
// defaults, checks the constraints and C's Validate, and only then makes
// it current. It has no other effect, so the host may call it to validate.
func (c *Configured[C]) Configure(_ context.Context, cfg Config) error {
	v, err := Decode[C](cfg)
	if err != nil {
		return err
	}
	c.cur.Store(v)
	return nil
}

// Config returns the current config, or nil before the first Configure.
// The value is never modified: a reload stores a new one.
func (c *Configured[C]) Config() *C { return c.cur.Load() }

// SchemaOf derives the schema of config struct C; see Configured. It
// panics on a malformed tag.
func SchemaOf[C any]() Schema {
	p, err := planOf(reflect.TypeFor[C]())
	if err != nil {
		panic(err)
	}
	return p.schema
}

// SchemaFor is SchemaOf returning the error instead of panicking.
func SchemaFor(t reflect.Type) (Schema, error) {
	p, err := planOf(t)
	if err != nil {
		return Schema{}, err
	}
	return p.schema, nil
}

// Decode decodes cfg into a new C the way Configure does.
func Decode[C any](cfg Config) (*C, error) {
	p, err := planOf(reflect.TypeFor[C]())
	if err != nil {
		return nil, err
	}
	obj := map[string]any{}
	if len(cfg.Raw) > 0 && string(cfg.Raw) != "null" {
		if err := json.Unmarshal(cfg.Raw, &obj); err != nil {
			return nil, fmt.Errorf("decode plugin config: %w", err)
		}
	}
	out := new(C)
	if err := p.decode(obj, reflect.ValueOf(out).Elem(), ""); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if v, ok := any(out).(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ErrInvalidConfig is wrapped by every error Decode finds itself; a
// config's Validate should wrap it too.
var ErrInvalidConfig = errors.New("invalid config")

type plan struct {
	schema Schema
	fields []fieldPlan
}

type fieldPlan struct {
	name     string
	index    []int
	attr     Attribute // for a scalar or list
	block    *plan     // for a nested block
	required bool      // for a block
	ptr      bool      // the field is a pointer
}

var plans sync.Map // reflect.Type → *plan or error

func planOf(t reflect.Type) (*plan, error) {
	if v, ok := plans.Load(t); ok {
		if err, isErr := v.(error); isErr {
			return nil, err
		}
		return v.(*plan), nil
	}
	p, err := buildPlan(t)
	if err != nil {
		plans.Store(t, err)
		return nil, err
	}
	plans.Store(t, p)
	return p, nil
}

var (
	durationType    = reflect.TypeFor[time.Duration]()
	sdkDurationType = reflect.TypeFor[Duration]()
)

func buildPlan(t reflect.Type) (*plan, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("sdk: config type %s is not a struct", t)
	}
	p := &plan{}
	seen := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("hawatch")
		if !ok || !f.IsExported() {
			continue
		}
		parts := strings.Split(tag, ",")
		name := parts[0]
		where := fmt.Sprintf("sdk: %s.%s", t.Name(), f.Name)
		if name == "" || seen[name] {
			return nil, fmt.Errorf("%s: missing or repeated attribute name %q", where, name)
		}
		seen[name] = true
		fp := fieldPlan{name: name, index: f.Index}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			fp.ptr, ft = true, ft.Elem()
		}
		opts := map[string]string{}
		for _, o := range parts[1:] {
			k, v, _ := strings.Cut(o, "=")
			opts[k] = v
		}
		_, fp.required = opts["required"]
		if ft.Kind() == reflect.Struct && ft != durationType {
			inner, err := buildPlan(ft)
			if err != nil {
				return nil, err
			}
			fp.block = inner
			p.schema.Blocks = append(p.schema.Blocks, BlockSchema{Name: name, Required: fp.required, Schema: inner.schema})
		} else {
			a, err := attributeOf(name, ft, f.Tag, opts)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			fp.attr = a
			p.schema.Attributes = append(p.schema.Attributes, a)
		}
		for _, op := range []RuleOp{RuleGE, RuleGT, RuleLE, RuleLT} {
			if other, ok := opts[ruleTag[op]]; ok {
				_, zero := opts["zero_unset"]
				p.schema.Rules = append(p.schema.Rules, Rule{Op: op, Attrs: []string{name, other}, ZeroUnset: zero})
			}
		}
		if other, ok := opts["conflicts"]; ok {
			p.schema.Rules = append(p.schema.Rules, Rule{Op: RuleConflicts, Attrs: []string{other, name}})
		}
		if other, ok := opts["requires"]; ok {
			p.schema.Rules = append(p.schema.Rules, Rule{Op: RuleRequires, Attrs: []string{name, other}})
		}
		if others, ok := opts["one_required"]; ok {
			p.schema.Rules = append(p.schema.Rules, Rule{Op: RuleOneRequired, Attrs: append([]string{name}, strings.Split(others, "|")...)})
		}
		p.fields = append(p.fields, fp)
	}
	for _, r := range p.schema.Rules {
		for _, n := range r.Attrs {
			if !seen[n] {
				return nil, fmt.Errorf("sdk: %s: rule %s names %q, which is not an attribute of the block", t.Name(), r.Op, n)
			}
		}
	}
	return p, nil
}

var ruleTag = map[RuleOp]string{RuleGE: "ge", RuleGT: "gt", RuleLE: "le", RuleLT: "lt"}

func attributeOf(name string, t reflect.Type, tag reflect.StructTag, opts map[string]string) (Attribute, error) {
	a := Attribute{Name: name, Description: tag.Get("doc"), Pattern: tag.Get("pattern")}
	_, a.Required = opts["required"]
	_, a.NonEmpty = opts["nonempty"]
	if oneof := tag.Get("oneof"); oneof != "" {
		a.OneOf = strings.Split(oneof, "|")
	}
	switch {
	case t == durationType || t == sdkDurationType:
		a.Type = TypeDuration
	case t.Kind() == reflect.String:
		a.Type = TypeString
	case t.Kind() == reflect.Bool:
		a.Type = TypeBool
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Float64:
		a.Type = TypeNumber
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		a.Type = TypeListString
	default:
		return a, fmt.Errorf("unsupported field type %s", t)
	}
	switch k := opts["kind"]; {
	case k == "port" && a.Type == TypeNumber:
		a.Type = TypePort
	case k == "address" && a.Type == TypeString:
		a.Type = TypeAddress
	case k != "":
		return a, fmt.Errorf("kind=%s does not fit a %s", k, a.Type)
	}
	for key, dst := range map[string]**float64{"min": &a.Min, "max": &a.Max} {
		s, ok := opts[key]
		if !ok {
			continue
		}
		var f float64
		var err error
		if a.Type == TypeDuration {
			var d time.Duration
			d, err = time.ParseDuration(s)
			f = d.Seconds()
		} else {
			f, err = strconv.ParseFloat(s, 64)
		}
		if err != nil {
			return a, fmt.Errorf("%s=%s: %v", key, s, err)
		}
		*dst = &f
	}
	if def, ok := tag.Lookup("default"); ok {
		if a.Required {
			return a, fmt.Errorf("required and has a default")
		}
		v, err := parseDefault(a.Type, def)
		if err != nil {
			return a, fmt.Errorf("default %q: %v", def, err)
		}
		if msg := CheckAttribute(a, jsonShape(v)); msg != "" {
			return a, fmt.Errorf("default %q: %s", def, msg)
		}
		a.Default = v
	}
	if err := CheckDeclaration(a); err != nil {
		return a, err
	}
	return a, nil
}

func parseDefault(t Type, s string) (any, error) {
	switch t {
	case TypeNumber, TypePort:
		return strconv.ParseFloat(s, 64)
	case TypeBool:
		return strconv.ParseBool(s)
	case TypeListString:
		if s == "" {
			return []string{}, nil
		}
		return strings.Split(s, ","), nil
	}
	return s, nil
}

// jsonShape is v as it arrives over the wire (lists as []any).
func jsonShape(v any) any {
	if l, ok := v.([]string); ok {
		out := make([]any, len(l))
		for i, s := range l {
			out[i] = s
		}
		return out
	}
	return v
}

// decode fills rv from obj, applying defaults and checking constraints;
// obj is completed with the defaults so rules see them.
func (p *plan) decode(obj map[string]any, rv reflect.Value, path string) error {
	known := map[string]bool{}
	for _, fp := range p.fields {
		f := rv.FieldByIndex(fp.index)
		if fp.block != nil {
			name := fp.name
			known[name] = true
			sub, _ := obj[name].(map[string]any)
			if sub == nil && obj[name] != nil {
				return fmt.Errorf("%s%s: want a block", path, name)
			}
			if sub == nil {
				if fp.required {
					return fmt.Errorf("%s%s {} is required", path, name)
				}
				if fp.ptr {
					continue
				}
				sub = map[string]any{}
			}
			target := f
			if fp.ptr {
				target = reflect.New(f.Type().Elem())
				f.Set(target)
				target = target.Elem()
			}
			if err := fp.block.decode(sub, target, path+name+"."); err != nil {
				return err
			}
			continue
		}
		a := fp.attr
		known[a.Name] = true
		v := obj[a.Name]
		if v == nil && a.Default != nil {
			v = jsonShape(a.Default)
			obj[a.Name] = v
		}
		if v == nil {
			if a.Required {
				return fmt.Errorf("%s%s is required", path, a.Name)
			}
			continue
		}
		if msg := CheckAttribute(a, v); msg != "" {
			return fmt.Errorf("%s%s", path, msg)
		}
		if err := set(f, fp.ptr, a, v); err != nil {
			return fmt.Errorf("%s%s: %w", path, a.Name, err)
		}
	}
	for k := range obj {
		if !known[k] {
			return fmt.Errorf("%s%s: unknown attribute", path, k)
		}
	}
	if errs := CheckRules(p.schema.Rules, obj); len(errs) > 0 {
		return fmt.Errorf("%s%s", path, errs[0].Msg)
	}
	return nil
}

func set(f reflect.Value, ptr bool, a Attribute, v any) error {
	if ptr {
		n := reflect.New(f.Type().Elem())
		f.Set(n)
		f = n.Elem()
	}
	switch a.Type {
	case TypeDuration:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("want a duration string, got %T", v)
		}
		var d time.Duration
		if s != "" {
			var err error
			if d, err = time.ParseDuration(s); err != nil {
				return err
			}
		}
		f.SetInt(int64(d))
	case TypeString, TypeAddress:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("want a string, got %T", v)
		}
		f.SetString(s)
	case TypeBool:
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("want a bool, got %T", v)
		}
		f.SetBool(b)
	case TypeNumber, TypePort:
		n, ok := v.(float64)
		if !ok {
			return fmt.Errorf("want a number, got %T", v)
		}
		switch f.Kind() {
		case reflect.Float32, reflect.Float64:
			f.SetFloat(n)
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			if n != float64(int64(n)) || f.OverflowInt(int64(n)) {
				return fmt.Errorf("%g: want a whole number", n)
			}
			f.SetInt(int64(n))
		default:
			if n < 0 || n != float64(uint64(n)) || f.OverflowUint(uint64(n)) {
				return fmt.Errorf("%g: want a whole number, not negative", n)
			}
			f.SetUint(uint64(n))
		}
	case TypeListString:
		l, ok := v.([]any)
		if !ok {
			return fmt.Errorf("want a list of strings, got %T", v)
		}
		out := reflect.MakeSlice(f.Type(), 0, len(l))
		for _, e := range l {
			s, ok := e.(string)
			if !ok {
				return fmt.Errorf("want a list of strings, got an element %T", e)
			}
			out = reflect.Append(out, reflect.ValueOf(s).Convert(f.Type().Elem()))
		}
		f.Set(out)
	}
	return nil
}
