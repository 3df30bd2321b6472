// Package trackfile reads and watches keepalived-style track files: files
// holding a number that an operator or a tool writes (`echo 5 > file`),
// whose value moves the priority of the instances that track them (the
// rule itself is core/vrouter's FileValue). Parse reads the number as
// keepalived does; Watcher follows files with inotify and reports every
// new value.
package trackfile

import (
	"errors"
	"fmt"
	"math"
)

// MaxRead is how much of a file is read: keepalived reads 127 bytes, and a
// number never needs more.
const MaxRead = 127

// ErrNotNumber: the file's text does not start with a number (after
// blanks); keepalived reads such a file as 0, and so does Parse.
var ErrNotNumber = errors.New("not a number")

// ErrTrailing: the number is followed by something other than blanks; the
// number is used (as keepalived's strtol does) but the content is odd.
var ErrTrailing = errors.New("text after the number")

// Parse reads the number at the start of b as keepalived does (C's
// strtol with base 0): leading blanks, an optional sign, then "0x" for
// hexadecimal, a leading 0 for octal, decimal otherwise; it stops at the
// first character that is not a digit of the base, and a number beyond
// int64 saturates. Only the first MaxRead bytes count.
//
// The value is always what keepalived would use: 0 when there is no
// number. The error says what was odd, with the position (1-based byte
// offset) of the first unexpected byte, so the caller can log it; it never
// quotes more than a few bytes of the file.
func Parse(b []byte) (int64, error) {
	if len(b) > MaxRead {
		b = b[:MaxRead]
	}
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	if i == len(b) {
		if len(b) == 0 {
			return 0, fmt.Errorf("empty file: %w", ErrNotNumber)
		}
		return 0, fmt.Errorf("only blanks: %w", ErrNotNumber)
	}
	neg := false
	if b[i] == '+' || b[i] == '-' {
		neg = b[i] == '-'
		i++
	}
	base := uint64(10)
	start := i
	switch {
	case i+1 < len(b) && b[i] == '0' && (b[i+1] == 'x' || b[i+1] == 'X') && i+2 < len(b) && digit(b[i+2], 16):
		base, i = 16, i+2
		start = i
	case i < len(b) && b[i] == '0':
		base = 8
	}
	var n uint64
	over := false
	for i < len(b) && digit(b[i], base) {
		d := uint64(digitValue(b[i]))
		if n > (math.MaxUint64-d)/base {
			over = true
		} else {
			n = n*base + d
		}
		i++
	}
	if i == start {
		return 0, fmt.Errorf("byte %d is %s: %w", i+1, show(b[i:]), ErrNotNumber)
	}
	v := saturate(n, over, neg)
	j := i
	for j < len(b) && isSpace(b[j]) {
		j++
	}
	if j < len(b) {
		return v, fmt.Errorf("byte %d is %s after %d: %w", j+1, show(b[j:]), v, ErrTrailing)
	}
	return v, nil
}

func saturate(n uint64, over, neg bool) int64 {
	switch {
	case neg && (over || n > math.MaxInt64):
		return math.MinInt64
	case neg:
		return -int64(n)
	case over || n > math.MaxInt64:
		return math.MaxInt64
	}
	return int64(n)
}

// isSpace is C's isspace in the C locale.
func isSpace(c byte) bool {
	return c == ' ' || (c >= '\t' && c <= '\r')
}

func digitValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return 99
}

func digit(c byte, base uint64) bool { return uint64(digitValue(c)) < base }

// show quotes at most 8 bytes of b for a message.
func show(b []byte) string {
	if len(b) > 8 {
		return fmt.Sprintf("%q…", b[:8])
	}
	return fmt.Sprintf("%q", b)
}
