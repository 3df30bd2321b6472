package config

import (
	"fmt"
	"io"
	"sort"

	"github.com/hashicorp/hcl/v2"
)

// WriteDiagnostics prints diags for a human: each one starts with a
// "file:line:col: " prefix (so editors and grep can jump to it), followed by
// HCL's own rendering with the source snippet and detail. color adds VT100
// highlighting and should be set only for a terminal.
func WriteDiagnostics(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics, color bool) error {
	tw := hcl.NewDiagnosticTextWriter(w, files, 0, color)
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
