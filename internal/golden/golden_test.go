package golden

import (
	"strings"
	"testing"
	"time"
)

func TestFmtDur(t *testing.T) {
	tests := map[time.Duration]string{
		0:                          "0s",
		3609375 * time.Microsecond: "3.609375s",
		163640039062:               "163.640039062s",
		2 * time.Second:            "2s",
	}
	for d, want := range tests {
		if got := FmtDur(d); got != want {
			t.Errorf("FmtDur(%d) = %q, want %q", d, got, want)
		}
	}
}

// TestReplay: comments, blank lines and commands are kept, old expected
// lines dropped, new ones indented under their command.
func TestReplay(t *testing.T) {
	in := "# a comment\n\nat 0s start\n  stale output\nat 1s tick\n"
	got := Replay(in, func(line int, f []string) []string {
		return []string{strings.Join(f, "+"), "line " + FmtDur(time.Duration(line)*time.Second)}
	})
	want := "# a comment\n\nat 0s start\n  at+0s+start\n  line 3s\nat 1s tick\n  at+1s+tick\n  line 5s\n"
	if got != want {
		t.Errorf("Replay:\n%s", LineDiff(want, got))
	}
}
