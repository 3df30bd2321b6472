package convert

import (
	"strings"
)

// splitArgs splits a keepalived script string into argv the way keepalived
// does before execve: on blanks, with single or double quotes grouping
// words. No shell is involved, so operators stay plain words.
func splitArgs(s string) []string {
	var out []string
	var cur strings.Builder
	inWord := false
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == ' ' || c == '\t':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out
}

// shTok is a word or an operator of a shell command line.
type shTok struct {
	text string
	op   bool // |, ||, &&, &, ;, or a redirection such as 2>&1 or >/dev/null
}

// shellTokens reads a simple shell command line: quotes, backslashes,
// pipes, lists and redirections. It gives up (ok false) on anything whose
// meaning depends on running a shell: expansions, substitutions, subshells,
// here-documents, unterminated quotes. Glob characters stay literal, as
// they do in the shell when no file matches (a URL's "?").
func shellTokens(s string) (toks []shTok, ok bool) {
	var cur strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			toks = append(toks, shTok{text: cur.String()})
		}
		cur.Reset()
		inWord = false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case ' ', '\t', '\n':
			flush()
		case '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, false
			}
			cur.WriteString(s[i+1 : i+1+end])
			inWord = true
			i += end + 1
		case '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				switch s[i] {
				case '$', '`':
					return nil, false
				case '\\':
					if i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
						i++
					}
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, false
			}
			inWord = true
		case '\\':
			if i+1 >= len(s) {
				return nil, false
			}
			i++
			cur.WriteByte(s[i])
			inWord = true
		case '$', '`', '(', ')', '{', '}', '[', '~':
			// '[' is allowed inside a word: the `grep [n]ginx` trick.
			if c == '[' && inWord || c == '[' && i+1 < len(s) && s[i+1] != ' ' {
				cur.WriteByte(c)
				inWord = true
				continue
			}
			if c == '~' && inWord {
				cur.WriteByte(c)
				continue
			}
			return nil, false
		case '|', '&', ';':
			// A redirection in progress, such as 2>&1, is handled below.
			flush()
			op := string(c)
			if i+1 < len(s) && (s[i+1] == c) && c != ';' {
				op += string(c)
				i++
			}
			if op == "&" && i+1 < len(s) && s[i+1] == '>' {
				// &>file or &>>file
				op, i = redirection(s, i, "&")
				if op == "" {
					return nil, false
				}
			}
			toks = append(toks, shTok{text: op, op: true})
		case '<', '>':
			prefix := ""
			if inWord && isDigits(cur.String()) {
				prefix = cur.String()
				cur.Reset()
				inWord = false
			}
			flush()
			var op string
			op, i = redirection(s, i-1, prefix)
			if op == "" || strings.HasPrefix(op, prefix+"<<") {
				return nil, false
			}
			toks = append(toks, shTok{text: op, op: true})
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	flush()
	return toks, true
}

// redirection reads the redirection operator that starts after index at
// (">", ">>", "<", ">&2") and its target word, returning them as one token
// text and the index of its last byte. "" means it could not be read.
func redirection(s string, at int, prefix string) (string, int) {
	i := at + 1
	var b strings.Builder
	b.WriteString(prefix)
	for i < len(s) && (s[i] == '>' || s[i] == '<' || s[i] == '&') {
		b.WriteByte(s[i])
		i++
	}
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	start := i
	for i < len(s) && strings.IndexByte(" \t|;&<>$`()'\"\\", s[i]) < 0 {
		i++
	}
	// "2>&1": the target is part of the operator.
	if i == start && !strings.HasSuffix(b.String(), "&") {
		return "", at
	}
	b.WriteString(" ")
	b.WriteString(s[start:i])
	return b.String(), i - 1
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// pipeline splits tokens into the commands of one pipeline, dropping
// redirections. ok is false for lists (;, &&, ||, &), which chain logic the
// converter cannot translate.
func pipeline(toks []shTok) (cmds [][]string, ok bool) {
	var cur []string
	for _, t := range toks {
		if !t.op {
			cur = append(cur, t.text)
			continue
		}
		switch {
		case t.text == "|":
			if len(cur) == 0 {
				return nil, false
			}
			cmds = append(cmds, cur)
			cur = nil
		case strings.ContainsAny(t.text[:1], "<>0123456789&") && t.text != "&" && t.text != "&&":
			// a redirection: output does not matter, only the exit status
		default:
			return nil, false
		}
	}
	if len(cur) == 0 {
		return nil, false
	}
	return append(cmds, cur), true
}

// baseName is the last element of a slash-separated path.
func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}
