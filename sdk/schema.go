package sdk

// Type is the type of a config attribute.
type Type string

const (
	TypeString     Type = "string"
	TypeNumber     Type = "number"
	TypeBool       Type = "bool"
	TypeDuration   Type = "duration" // a string such as "250ms", checked by the host
	TypeListString Type = "list(string)"
)

// Schema declares a plugin's `config {}` block.
type Schema struct {
	Attributes []Attribute
	Blocks     []BlockSchema
}

// Attribute is one `name = value` in the config block.
type Attribute struct {
	Name        string
	Type        Type
	Required    bool
	Default     any // string, float64/int, bool, []string; nil for none
	Description string
}

// BlockSchema is a nested block such as `http { path = "/" }`.
type BlockSchema struct {
	Name     string
	Required bool
	Schema   Schema
}
