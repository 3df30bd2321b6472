package convert

import (
	"errors"
	"fmt"
	"strings"
)

// ErrSyntax is wrapped by every error about input that is not keepalived
// configuration syntax at all (unbalanced braces, an unterminated quote).
var ErrSyntax = errors.New("keepalived syntax error")

// SyntaxError locates a syntax error in the keepalived file.
type SyntaxError struct {
	File string
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Unwrap lets callers test for ErrSyntax.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// word is one whitespace-separated item of a keepalived line. Quoted tells
// `notify "/x.sh arg"` (one script with an argument) apart from
// `notify /x.sh user` (a script and the user to run it as).
type word struct {
	Text   string
	Quoted bool
}

// stmt is one keepalived statement: the words of a line, and the
// statements inside its braces when it opens a block.
type stmt struct {
	Words    []word
	Line     int
	Block    bool // it had braces, even empty ones
	Children []*stmt
	EndLine  int // line of the closing brace, for blocks
}

// Keyword is the statement's first word, "" for none.
func (s *stmt) Keyword() string {
	if len(s.Words) == 0 {
		return ""
	}
	return s.Words[0].Text
}

// Args are the words after the keyword, as text.
func (s *stmt) Args() []string {
	if len(s.Words) < 2 {
		return nil
	}
	out := make([]string, len(s.Words)-1)
	for i, w := range s.Words[1:] {
		out[i] = w.Text
	}
	return out
}

// token kinds of the scanner.
const (
	tokWord = iota
	tokOpen
	tokClose
)

type token struct {
	kind int
	word word
}

// scanLine splits one line into words and braces. keepalived's rules:
// words are separated by blanks; a '#' or '!' outside quotes starts a
// comment that runs to the end of the line, wherever it appears; a double
// quote starts a quoted part that ends at the next double quote, and may
// hold blanks, braces and comment characters. There are no escapes.
func scanLine(line string) ([]token, error) {
	var toks []token
	var cur strings.Builder
	inWord, quoted := false, false
	flush := func() {
		if inWord {
			toks = append(toks, token{kind: tokWord, word: word{Text: cur.String(), Quoted: quoted}})
		}
		cur.Reset()
		inWord, quoted = false, false
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '"':
			end := strings.IndexByte(line[i+1:], '"')
			if end < 0 {
				return nil, errors.New("unterminated quoted string")
			}
			cur.WriteString(line[i+1 : i+1+end])
			inWord, quoted = true, true
			i += end + 1
		case c == '#' || c == '!':
			flush()
			return toks, nil
		case c == '{' || c == '}':
			flush()
			kind := tokOpen
			if c == '}' {
				kind = tokClose
			}
			toks = append(toks, token{kind: kind})
		case c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f':
			flush()
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	flush()
	return toks, nil
}

// parse reads a keepalived configuration into statements. It checks only
// the shape (braces, quotes); what the keywords mean is convert's business.
func parse(src, filename string) ([]*stmt, error) {
	type frame struct {
		owner *stmt // the block statement, nil for the file
		list  *[]*stmt
	}
	var top []*stmt
	stack := []frame{{list: &top}}
	// last is the most recent statement of the innermost open block, so
	// that a '{' alone on the next line can open its block, as keepalived
	// allows.
	var last *stmt
	lastLine := 0

	for n, line := range strings.Split(src, "\n") {
		lineNo := n + 1
		toks, err := scanLine(line)
		if err != nil {
			return nil, &SyntaxError{File: filename, Line: lineNo, Msg: err.Error()}
		}
		var cur *stmt
		emit := func() {
			if cur != nil {
				f := stack[len(stack)-1]
				*f.list = append(*f.list, cur)
				last, lastLine = cur, lineNo
				cur = nil
			}
		}
		for _, t := range toks {
			switch t.kind {
			case tokWord:
				if cur == nil {
					cur = &stmt{Line: lineNo}
				}
				cur.Words = append(cur.Words, t.word)
			case tokOpen:
				owner := cur
				if owner == nil {
					// A lone '{' opens the block of the statement on the
					// line before, if that one has no block yet.
					if last == nil || last.Block || lastLine != lineNo-1 {
						return nil, &SyntaxError{File: filename, Line: lineNo, Msg: `"{" without a keyword before it`}
					}
					owner = last
				} else {
					emit()
				}
				owner.Block = true
				stack = append(stack, frame{owner: owner, list: &owner.Children})
				last = nil
			case tokClose:
				emit()
				if len(stack) == 1 {
					return nil, &SyntaxError{File: filename, Line: lineNo, Msg: `"}" without a matching "{"`}
				}
				closed := stack[len(stack)-1].owner
				closed.EndLine = lineNo
				stack = stack[:len(stack)-1]
				last, lastLine = closed, lineNo
			}
		}
		emit()
		if len(toks) == 0 && lastLine == lineNo-1 {
			// Blank and comment-only lines keep a pending "{" attachable.
			lastLine = lineNo
		}
	}
	if len(stack) > 1 {
		open := stack[len(stack)-1].owner
		return nil, &SyntaxError{File: filename, Line: open.Line,
			Msg: fmt.Sprintf("block %q opened here is never closed", strings.Join(open.Args0(), " "))}
	}
	return top, nil
}

// Args0 is every word of the statement as text, keyword included.
func (s *stmt) Args0() []string {
	out := make([]string, len(s.Words))
	for i, w := range s.Words {
		out[i] = w.Text
	}
	return out
}
