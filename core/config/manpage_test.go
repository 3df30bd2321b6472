package config

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const manPage = "../../docs/man/hawatch.hcl.5"

// schemaNames collects every attribute and block name of a schema struct,
// walking nested blocks: name -> the struct that declares it.
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

// manSections splits a roff page into its .SH sections, by title.
func manSections(page string) map[string]string {
	out := map[string]string{}
	title := ""
	for line := range strings.Lines(page) {
		if rest, ok := strings.CutPrefix(line, ".SH "); ok {
			title = strings.Trim(strings.TrimSpace(rest), `"`)
			continue
		}
		out[title] += line
	}
	return out
}

// documented reports whether text names name in bold (\fBname), as a whole
// word: \fBto must not be satisfied by \fBtoken.
func documented(text, name string) bool {
	re := regexp.MustCompile(`\\fB` + regexp.QuoteMeta(strings.ReplaceAll(name, "-", `\-`)) + `([^a-z0-9_]|$)`)
	return re.MatchString(text)
}

// undocumented lists what the page misses: each top-level block needs its
// own section (.SH in upper case, such as VRRP_INSTANCE) and a mention in
// DESCRIPTION, and every attribute and nested block reachable from it must
// be named within that section. A nested block shared by two top-level
// blocks (route in virtual_route and static) is checked in both.
func undocumented(page string) []string {
	sections := manSections(page)
	var missing []string
	top := reflect.TypeFor[fileSchema]()
	for i := range top.NumField() {
		block, kind, _ := strings.Cut(top.Field(i).Tag.Get("hcl"), ",")
		if kind != "block" {
			continue
		}
		title := strings.ToUpper(block)
		if !documented(sections["DESCRIPTION"], block) {
			missing = append(missing, block+" (a top-level block) is not listed in DESCRIPTION")
		}
		text, ok := sections[title]
		if !ok {
			missing = append(missing, block+" has no section .SH "+title)
			continue
		}
		names := map[string]string{}
		schemaNames(top.Field(i).Type, map[reflect.Type]bool{}, names)
		for name, in := range names {
			if !documented(text, name) {
				missing = append(missing, name+" (in "+in+") is not documented in section "+title)
			}
		}
	}
	slices.Sort(missing)
	return missing
}

// TestManPageDocumentsSchema: hawatch.hcl(5) names every block and
// attribute the loader accepts (as \fBname\fR) in its block's section, so
// a new attribute cannot ship undocumented or documented in another block.
func TestManPageDocumentsSchema(t *testing.T) {
	page, err := os.ReadFile(manPage)
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]string{}
	schemaNames(reflect.TypeFor[fileSchema](), map[reflect.Type]bool{}, all)
	if len(all) < 50 {
		t.Fatalf("only %d schema names found: %v", len(all), all)
	}
	for _, m := range undocumented(string(page)) {
		t.Error(m + " of docs/man/hawatch.hcl.5")
	}
}

// TestManPageCheckCanFail: the check above notices an attribute moved out of
// its section, a missing section, and a name that is only a prefix of
// another word.
func TestManPageCheckCanFail(t *testing.T) {
	raw, err := os.ReadFile(manPage)
	if err != nil {
		t.Fatal(err)
	}
	page := string(raw)
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"section gone", ".SH INTERFACE\n", ".SH INTERFACES\n", "interface has no section .SH INTERFACE"},
		{"not in DESCRIPTION", `\fBtrack_file\fR and`, `track_file and`, "track_file (a top-level block) is not listed in DESCRIPTION"},
		{"attribute in another section", "\\fBxmit_base\\fR = ", "xmit_base = ", "xmit_base (in vmacBlock) is not documented in section VRRP_INSTANCE"},
		{"prefix of another word", "\n\\fBstrict\\fR = \\fIbool", "\n\\fBstrictly\\fR = \\fIbool", "strict (in nodeBlock) is not documented in section NODE"},
	} {
		if strings.Count(page, tc.old) != 1 {
			t.Fatalf("%s: %q is not in the page once", tc.name, tc.old)
		}
		got := undocumented(strings.Replace(page, tc.old, tc.new, 1))
		if !slices.Contains(got, tc.want) {
			t.Errorf("%s: got %q, want it to contain %q", tc.name, got, tc.want)
		}
	}
}

// TestManPageExampleLoads: the EXAMPLE section is a policy the loader
// accepts without errors.
func TestManPageExampleLoads(t *testing.T) {
	raw, err := os.ReadFile(manPage)
	if err != nil {
		t.Fatal(err)
	}
	ex := manSections(string(raw))["EXAMPLE"]
	_, body, ok := strings.Cut(ex, ".nf\n")
	body, _, ok2 := strings.Cut(body, ".fi\n")
	if !ok || !ok2 {
		t.Fatalf("EXAMPLE has no .nf ... .fi block:\n%s", ex)
	}
	src := strings.ReplaceAll(body, `\-`, "-")
	cfg, diags := Parse([]byte(src), "hawatch.hcl.5 EXAMPLE")
	if diags.HasErrors() {
		t.Fatalf("EXAMPLE does not load: %v\n%s", diags, src)
	}
	if len(cfg.Instances) != 1 || len(cfg.TrackFiles) != 1 || len(cfg.Interfaces) != 1 {
		t.Fatalf("EXAMPLE decoded to %d instances, %d track files, %d interfaces; want 1 each",
			len(cfg.Instances), len(cfg.TrackFiles), len(cfg.Interfaces))
	}
}
