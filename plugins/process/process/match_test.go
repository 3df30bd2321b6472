package process

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
)

// fakeProc describes one /proc/PID directory of a fake procfs.
type fakeProc struct {
	comm    string
	exe     string // symlink target; "" leaves exe absent (unreadable)
	cmdline string // NUL-separated
	state   byte
}

func writeFakeProc(t *testing.T, procs map[int]fakeProc) string {
	t.Helper()
	root := t.TempDir()
	for pid, p := range procs {
		dir := filepath.Join(root, strconv.Itoa(pid))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		st := p.state
		if st == 0 {
			st = 'S'
		}
		files := map[string]string{
			"comm":    p.comm + "\n",
			"cmdline": p.cmdline,
			"stat":    strconv.Itoa(pid) + " (" + p.comm + ") " + string(st) + " 1 1 1",
		}
		for name, body := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if p.exe != "" {
			if err := os.Symlink(p.exe, filepath.Join(dir, "exe")); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A non-numeric entry, like /proc/self, must be ignored.
	if err := os.Mkdir(filepath.Join(root, "sys"), 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestMatch(t *testing.T) {
	procs := map[int]fakeProc{
		10: {comm: "nginx", exe: "/usr/sbin/nginx", cmdline: "nginx: master process /usr/sbin/nginx -g daemon on;\x00"},
		11: {comm: "nginx", exe: "/usr/sbin/nginx", cmdline: "nginx: worker process\x00"},
		12: {comm: "nginx", cmdline: "nginx: worker process\x00"}, // other user's: exe unreadable
		20: {comm: "worker-1", exe: "/usr/sbin/nginx (deleted)", cmdline: "/usr/sbin/nginx\x00"},
		30: {comm: "verylongdaemonn", cmdline: "/opt/bin/verylongdaemonname\x00--flag\x00"},
		31: {comm: "verylongdaemonn", cmdline: "/opt/bin/verylongdaemonnameX\x00"},
		32: {comm: "python3", exe: "/usr/bin/python3.11", cmdline: "python3\x00/opt/verylongdaemonname\x00"},
		40: {comm: "kworker/0:1"},                                                 // kernel thread: empty cmdline
		50: {comm: "nginx", exe: "/usr/sbin/nginx", cmdline: "nginx: master\x00"}, // excluded (itself)
		51: {comm: "nginx", exe: "/usr/sbin/nginx", cmdline: "nginx: master\x00"}, // excluded (parent)
	}
	root := writeFakeProc(t, procs)

	tests := []struct {
		name string
		s    settings
		want []int
	}{
		{"name by comm, never self or parent", settings{name: "nginx"}, []int{10, 11, 12, 20}},
		{"name by exe basename", settings{name: "python3.11"}, []int{32}},
		{"long name via argv0 when comm agrees", settings{name: "verylongdaemonname"}, []int{30}},
		{"long name needs the exact argv0 basename", settings{name: "verylongdaemonnameX"}, []int{31}},
		{"comm prefix alone is not a match", settings{name: "verylongdaemon"}, nil},
		{"cmdline regexp", settings{cmdline: regexp.MustCompile(`^nginx: master`)}, []int{10}},
		{"cmdline sees arguments joined by spaces", settings{cmdline: regexp.MustCompile(`verylongdaemonname --flag$`)}, []int{30}},
		{"kernel threads never match a cmdline", settings{cmdline: regexp.MustCompile(`.*`)}, []int{10, 11, 12, 20, 30, 31, 32}},
		{"name and cmdline must both hold", settings{name: "nginx", cmdline: regexp.MustCompile(`worker`)}, []int{11, 12}},
		{"no such process", settings{name: "haproxy"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMatcher(root, &tt.s, 50, 51)
			pids, err := listPids(root)
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, pid := range pids {
				if m.match(pid) {
					got = append(got, pid)
				}
			}
			slices.Sort(got)
			if !equalSorted(got, tt.want) {
				t.Errorf("matched %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMatchVanishedOrInvalidPid(t *testing.T) {
	root := writeFakeProc(t, map[int]fakeProc{7: {comm: "x", cmdline: "x\x00"}})
	m := newMatcher(root, &settings{pidfile: "/run/x.pid"})
	for _, tt := range []struct {
		pid  int
		want bool
	}{{7, true}, {8, false}, {0, false}, {-1, false}} {
		if got := m.match(tt.pid); got != tt.want {
			t.Errorf("match(%d) = %v, want %v", tt.pid, got, tt.want)
		}
	}
}

func TestReadPidfile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		body    *string
		want    int
		wantErr error
	}{
		{"plain", ptr("1234\n"), 1234, nil},
		{"surrounding space", ptr("  42  \n\n"), 42, nil},
		{"missing", nil, 0, fs.ErrNotExist},
		{"empty (mid-write)", ptr(""), 0, ErrNoPid},
		{"garbage", ptr("nginx\n"), 0, ErrNoPid},
		{"zero", ptr("0\n"), 0, ErrNoPid},
		{"negative", ptr("-5\n"), 0, ErrNoPid},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strconv.Itoa(i)+".pid")
			if tt.body != nil {
				if err := os.WriteFile(path, []byte(*tt.body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := readPidfile(path)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("readPidfile = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

func TestIsZombie(t *testing.T) {
	root := writeFakeProc(t, map[int]fakeProc{
		1: {comm: "init", state: 'S'},
		2: {comm: "a) Z (b", state: 'R'}, // comm with ") " inside
		3: {comm: "dead", state: 'Z'},
		4: {comm: "gone", state: 'X'},
	})
	for pid, want := range map[int]bool{1: false, 2: false, 3: true, 4: true, 5: true} {
		if got := isZombie(root, pid); got != want {
			t.Errorf("isZombie(%d) = %v, want %v", pid, got, want)
		}
	}
}

func ptr(s string) *string { return &s }

func equalSorted(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
