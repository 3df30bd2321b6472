package sdk

// Type is the type of a config attribute.
type Type string

const (
	TypeString     Type = "string"
	TypeNumber     Type = "number"
	TypeBool       Type = "bool"
	TypeDuration   Type = "duration" // a string such as "250ms", checked by the host
	TypePort       Type = "port"     // a whole number 1-65535
	TypeAddress    Type = "address"  // a string "host:port" with a port 1-65535
	TypeListString Type = "list(string)"
)

// Schema declares a plugin's `config {}` block. Derive it from a config
// struct with SchemaOf rather than writing it by hand.
type Schema struct {
	Attributes []Attribute
	Blocks     []BlockSchema
	// Rules are constraints between attributes of this block, checked by
	// the host after each attribute's own constraints.
	Rules []Rule
}

// Attribute is one `name = value` in the config block.
type Attribute struct {
	Name        string
	Type        Type
	Required    bool
	Default     any // string, float64/int, bool, []string; nil for none
	Description string

	// Constraints, checked by the host (`hawatch validate`, start, reload)
	// with the attribute's file:line:col. Min/Max bound a number (or a
	// duration, in seconds; or the length of a list); NonEmpty refuses ""
	// and []; OneOf lists the allowed strings; Pattern is a regular
	// expression (RE2) a string must match in full.
	Min, Max *float64
	NonEmpty bool
	OneOf    []string
	Pattern  string
}

// BlockSchema is a nested block such as `http { path = "/" }`.
type BlockSchema struct {
	Name     string
	Required bool
	Schema   Schema
}

// RuleOp is the kind of a cross-field Rule.
type RuleOp string

const (
	// RuleGE, RuleGT, RuleLE, RuleLT compare Attrs[0] with Attrs[1] (numbers
	// or durations); skipped when either is absent, or, with ZeroUnset,
	// when Attrs[0] is zero ("0 means no bound").
	RuleGE RuleOp = ">="
	RuleGT RuleOp = ">"
	RuleLE RuleOp = "<="
	RuleLT RuleOp = "<"
	// RuleConflicts: at most one of Attrs may be set.
	RuleConflicts RuleOp = "conflicts"
	// RuleOneRequired: at least one of Attrs must be set.
	RuleOneRequired RuleOp = "one_required"
	// RuleRequires: when Attrs[0] is set, every other one must be too.
	RuleRequires RuleOp = "requires"
)

// Rule is a constraint between attributes (or nested blocks) of one block.
// "Set" means present and not the zero value ("", 0, false, empty list).
type Rule struct {
	Op        RuleOp
	Attrs     []string
	ZeroUnset bool
}

// Float returns a pointer to v, for Attribute.Min and Max.
func Float(v float64) *float64 { return &v }
