package config

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"sort"

	"github.com/hashicorp/hcl/v2"
)

// WriteDiagnostics prints diags for a human: each one starts with a
// "file:line:col: " prefix (so editors and grep can jump to it), followed by
// HCL's own rendering with the source snippet and detail. color adds VT100
// highlighting and should be set only for a terminal. Secrets in the
// snippets (auth_pass, key values) are masked, whatever the diagnostic.
func WriteDiagnostics(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics, color bool) error {
	masked := make(map[string]*hcl.File, len(files))
	for name, f := range files {
		if f != nil {
			masked[name] = &hcl.File{Body: f.Body, Bytes: MaskSecrets(f.Bytes), Nav: f.Nav}
		}
	}
	tw := hcl.NewDiagnosticTextWriter(w, masked, 0, color)
	for _, d := range diags {
		if d.Subject != nil {
			s := d.Subject.Start
			if _, err := fmt.Fprintf(w, "%s:%d:%d: ", d.Subject.Filename, s.Line, s.Column); err != nil {
				return fmt.Errorf("write diagnostics: %w", err)
			}
		}
		if err := tw.WriteDiagnostic(d); err != nil {
			return fmt.Errorf("write diagnostics: %w", err)
		}
	}
	return nil
}

// sortDiagnostics orders diagnostics by position so that the output reads
// top to bottom like the file; ones without a position come first.
func sortDiagnostics(diags hcl.Diagnostics) {
	sort.SliceStable(diags, func(i, j int) bool {
		a, b := diags[i].Subject, diags[j].Subject
		switch {
		case a == nil || b == nil:
			return a == nil && b != nil
		case a.Filename != b.Filename:
			return a.Filename < b.Filename
		default:
			return a.Start.Byte < b.Start.Byte
		}
	})
}

// secretAttr matches an attribute that holds a secret and its value: a
// quoted string (up to its closing quote, or the end of the line when the
// quote is never closed) or a bare token.
var secretAttr = regexp.MustCompile(`\b(auth_pass|value)(\s*=\s*)("(?:[^"\\\n]|\\.)*"?|[^\s}]+)`)

// MaskSecrets returns src with the value of every auth_pass and value
// attribute replaced by asterisks of the same length, so positions in
// diagnostics stay right. It works on the text, not on the syntax tree, so
// it also masks a file that does not parse.
func MaskSecrets(src []byte) []byte {
	out := bytes.Clone(src)
	for _, m := range secretAttr.FindAllSubmatchIndex(src, -1) {
		start, end := m[6], m[7]
		for i := start; i < end; i++ {
			if out[i] != '"' {
				out[i] = '*'
			}
		}
	}
	return out
}
