package convert

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2/hclwrite"
)

// commentWidth is where long comments are wrapped.
const commentWidth = 100

// hclOut writes HCL text with two-space indents. Values go through quote,
// so nothing taken from the keepalived file can break out of a string or a
// comment.
type hclOut struct {
	buf       bytes.Buffer
	depth     int
	lastBlank bool
}

func (o *hclOut) line(s string) {
	o.buf.WriteString(strings.Repeat("  ", o.depth))
	o.buf.WriteString(s)
	o.buf.WriteByte('\n')
	o.lastBlank = false
}

// blank writes one empty line, never two in a row or one after an opening
// brace.
func (o *hclOut) blank() {
	if o.lastBlank || o.buf.Len() == 0 || bytes.HasSuffix(o.buf.Bytes(), []byte("{\n")) {
		return
	}
	o.buf.WriteByte('\n')
	o.lastBlank = true
}

// comment writes text as # lines, wrapped at commentWidth; "\n" in text
// starts a new comment line.
func (o *hclOut) comment(text string) {
	for _, para := range strings.Split(text, "\n") {
		width := max(commentWidth-2*o.depth-2, 40)
		for _, l := range wrap(cleanComment(para), width) {
			if l == "" {
				o.line("#")
			} else {
				o.line("# " + l)
			}
		}
	}
}

func (o *hclOut) open(head string) {
	o.line(head + " {")
	o.depth++
}

func (o *hclOut) close() {
	o.depth--
	o.line("}")
}

func (o *hclOut) attr(name, value string) { o.line(name + " = " + value) }

// attrNote is attr with a trailing comment.
func (o *hclOut) attrNote(name, value, note string) {
	if note == "" {
		o.attr(name, value)
		return
	}
	o.line(name + " = " + value + " # " + cleanComment(note))
}

// bytes returns the text, tidied by hclwrite (aligned "=" and comments).
func (o *hclOut) bytes() []byte {
	return hclwrite.Format(o.buf.Bytes())
}

// wrap splits s into lines of at most width bytes, at spaces.
func wrap(s string, width int) []string {
	words := strings.Fields(s)
	if len(words) == 0 {
		return []string{""}
	}
	var lines []string
	cur := words[0]
	for _, w := range words[1:] {
		if len(cur)+1+len(w) > width {
			lines = append(lines, cur)
			cur = w
			continue
		}
		cur += " " + w
	}
	return append(lines, cur)
}

// cleanComment makes text safe inside a # comment: one line, printable.
func cleanComment(s string) string {
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}

// quote renders s as an HCL quoted string. Template sequences are escaped
// too: "${" in a keepalived script must stay literal text.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case (r == '$' || r == '%') && strings.HasPrefix(s[i+1:], "{"):
			b.WriteRune(r)
			b.WriteRune(r)
		case r == utf8.RuneError:
			b.WriteString(`\ufffd`)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029':
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// list renders strings as an HCL list.
func list(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// dur renders a duration the way people write them: "3s", "500ms",
// "1m30s" only when that is shorter than the seconds.
func dur(d time.Duration) string {
	switch {
	case d%time.Second == 0:
		return quote(strconv.FormatInt(int64(d/time.Second), 10) + "s")
	case d%time.Millisecond == 0:
		return quote(strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms")
	}
	return quote(d.String())
}
