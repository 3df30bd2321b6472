package config

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// schemaNames collects every attribute and block name of the policy
// language from the gohcl schema structs, walking nested blocks.
func schemaNames(t reflect.Type, seen map[reflect.Type]bool, out map[string]string) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] {
		return
	}
	seen[t] = true
	for i := range t.NumField() {
		f := t.Field(i)
		name, kind, _ := strings.Cut(f.Tag.Get("hcl"), ",")
		switch kind {
		case "attr":
			out[name] = t.Name()
		case "block":
			out[name] = t.Name()
			schemaNames(f.Type, seen, out)
		}
	}
}

// TestManPageDocumentsSchema: hawatch.hcl(5) names every block and
// attribute the loader accepts (as \fBname\fR), so a new attribute cannot
// ship undocumented.
func TestManPageDocumentsSchema(t *testing.T) {
	page, err := os.ReadFile("../../docs/man/hawatch.hcl.5")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	schemaNames(reflect.TypeFor[fileSchema](), map[reflect.Type]bool{}, names)
	if len(names) < 50 {
		t.Fatalf("only %d schema names found: %v", len(names), names)
	}
	for name, in := range names {
		if !strings.Contains(string(page), `\fB`+strings.ReplaceAll(name, "-", `\-`)) {
			t.Errorf("%s (in %s) is not documented in docs/man/hawatch.hcl.5", name, in)
		}
	}
}
