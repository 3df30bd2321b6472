package trackfile

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  error
	}{
		{"5\n", 5, nil},
		{"  -12 \n", -12, nil},
		{"+7", 7, nil},
		{"0", 0, nil},
		{"0x1F\n", 31, nil},
		{"0X1f", 31, nil},
		{"010", 8, nil},        // octal, as strtol base 0
		{"08", 0, ErrTrailing}, // octal stops at 8
		{"0x", 0, ErrTrailing}, // "0" then "x"
		{"12abc", 12, ErrTrailing},
		{"3 4", 3, ErrTrailing},
		{"", 0, ErrNotNumber},
		{"  \n", 0, ErrNotNumber},
		{"abc", 0, ErrNotNumber},
		{"-", 0, ErrNotNumber},
		{"- 5", 0, ErrNotNumber},
		{"99999999999999999999999", math.MaxInt64, nil},
		{"-99999999999999999999999", math.MinInt64, nil},
		{"9223372036854775807", math.MaxInt64, nil},
		{"-9223372036854775808", math.MinInt64, nil},
		{strings.Repeat(" ", 126) + "12", 1, nil}, // only 127 bytes are read
	} {
		got, err := Parse([]byte(tc.in))
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("Parse(%q) = %d, %v; want %d, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
	_, err := Parse([]byte("5 secret-looking-text"))
	if err == nil || strings.Contains(err.Error(), "looking") || !strings.Contains(err.Error(), "byte 3") {
		t.Errorf("error %v: want the position and at most 8 bytes of the file", err)
	}
}

// FuzzParse: never panics, the value is 0 on ErrNotNumber, and a value
// written back in decimal parses to itself.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"5\n", "-254", "0x10", "017", "abc", "", " +3 x", "99999999999999999999"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Parse(b)
		if errors.Is(err, ErrNotNumber) && v != 0 {
			t.Fatalf("Parse(%q) = %d with %v", b, v, err)
		}
		if len(b) > MaxRead {
			if v2, err2 := Parse(b[:MaxRead]); v2 != v || (err == nil) != (err2 == nil) {
				t.Fatalf("bytes past %d changed the result", MaxRead)
			}
		}
		if w, err := Parse([]byte(strconv.FormatInt(v, 10) + "\n")); w != v || err != nil {
			t.Fatalf("%d written back parses as %d, %v", v, w, err)
		}
	})
}
