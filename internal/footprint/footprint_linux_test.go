package footprint

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseMapsHeader(t *testing.T) {
	for _, tc := range []struct {
		line string
		ok   bool
		bad  bool
		want mapping
	}{
		{line: "00400000-00e15000 r-xp 00000000 fe:00 10142535                   /usr/sbin/hawatch", ok: true,
			want: mapping{start: 0x400000, end: 0xe15000, perms: "r-xp", dev: unix.Mkdev(0xfe, 0), inode: 10142535}},
		{line: "7f4aa1317000-7f4aa137a000 rw-p 00000000 00:00 0 ", ok: true,
			want: mapping{start: 0x7f4aa1317000, end: 0x7f4aa137a000, perms: "rw-p"}},
		{line: "00e15000-018f5000 r--p 00a15000 08:11 42 /usr/sbin/hawatch (deleted)", ok: true,
			want: mapping{start: 0xe15000, end: 0x18f5000, perms: "r--p", dev: unix.Mkdev(8, 0x11), inode: 42}},
		{line: "Rss:                9236 kB"},
		{line: "VmFlags: rd ex mr mw me dw sd"},
		{line: "zz-00e15000 r--p 0 fe:00 1 x", bad: true},
	} {
		m, ok, err := parseMapsHeader(tc.line)
		if (err != nil) != tc.bad || ok != tc.ok || m != tc.want {
			t.Errorf("%q: got %+v ok=%v err=%v, want %+v ok=%v bad=%v", tc.line, m, ok, err, tc.want, tc.ok, tc.bad)
		}
	}
}

func TestReadSmapsAnonymous(t *testing.T) {
	path := filepath.Join(t.TempDir(), "smaps")
	const smaps = `00400000-00e15000 r-xp 00000000 fe:00 7 /bin/x
Size:              10324 kB
Rss:                9236 kB
Anonymous:             0 kB
VmFlags: rd ex mr mw me dw sd
00e15000-018f5000 r--p 00a15000 fe:00 7 /bin/x
Rss:                 512 kB
Anonymous:            12 kB
`
	if err := os.WriteFile(path, []byte(smaps), 0o600); err != nil {
		t.Fatal(err)
	}
	ms, err := readSmaps(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].anonymous != 0 || ms[1].anonymous != 12 || ms[1].perms != "r--p" || ms[1].inode != 7 {
		t.Fatalf("parsed %+v", ms)
	}
}

// residentExe is the resident size of this executable's read-only
// mappings, from smaps.
func residentExe(t *testing.T) int64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &st); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	var in bool
	for _, line := range strings.Split(string(b), "\n") {
		if m, ok, _ := parseMapsHeader(line); ok {
			in = m.inode == st.Ino && m.dev == st.Dev && m.perms[1] != 'w'
			continue
		}
		if v, ok := kbField(line, "Rss:"); ok && in {
			total += v
		}
	}
	return total
}

// TestTrimDropsExecutablePages: after Trim the executable's read-only
// pages are no longer resident in this process, the test binary keeps
// running (its code maps back in), and the report says what it did.
func TestTrimDropsExecutablePages(t *testing.T) {
	warmUp(t)
	before := residentExe(t)
	if before == 0 {
		t.Fatal("no resident pages of the executable before the trim")
	}
	r, err := Trim(true)
	if err != nil {
		t.Fatal(err)
	}
	after := residentExe(t)
	t.Logf("executable resident %d kB → %d kB; report %+v", before, after, r)
	if r.Unmapped == 0 {
		t.Fatalf("nothing unmapped: %+v", r)
	}
	// Reading smaps touches some code again before the second reading;
	// the warm-up's code stays out.
	if after >= before*3/4 {
		t.Errorf("executable still %d kB resident after the trim (was %d kB)", after, before)
	}
	if r.RSSBefore == 0 || r.RSSAfter == 0 || r.RSSAfter >= r.RSSBefore {
		t.Errorf("VmRSS %d → %d: want a drop", r.RSSBefore, r.RSSAfter)
	}
}

// Without dropCode only the heap is given back: the code stays mapped.
func TestTrimKeepsCodeWhenAsked(t *testing.T) {
	before := residentExe(t)
	r, err := Trim(false)
	if err != nil {
		t.Fatal(err)
	}
	if r.Unmapped != 0 || r.Skipped != 0 {
		t.Fatalf("report %+v, want nothing unmapped", r)
	}
	if after := residentExe(t); after < before*9/10 {
		t.Errorf("executable resident %d kB → %d kB without dropCode", before, after)
	}
}

// warmUp runs code that the measurements after the trim do not (JSON,
// regular expressions, gzip), the way start-up runs the HCL parser.
func warmUp(t *testing.T) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(map[string]any{"a": []int{1, 2}, "b": regexp.MustCompile(`^x+[a-z]{2,}$`).String()}); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestTrimKeepsPrivateCopies: a read-only mapping of the executable that
// holds a private copy of a page (as a relocated PIE segment or a uprobe's
// breakpoint does) is skipped, and the copy survives the trim.
func TestTrimKeepsPrivateCopies(t *testing.T) {
	f, err := os.Open("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := unix.Mmap(int(f.Fd()), 0, os.Getpagesize(), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = unix.Munmap(b) }()
	b[0] = 'Z' // the ELF magic's 0x7f, now a private copy
	if err := unix.Mprotect(b, unix.PROT_READ); err != nil {
		t.Fatal(err)
	}
	r, err := Trim(true)
	if err != nil {
		t.Fatal(err)
	}
	if r.Skipped < 1 {
		t.Errorf("report %+v: the mapping with a private copy was not skipped", r)
	}
	if b[0] != 'Z' {
		t.Fatalf("private copy lost: first byte %#x after the trim", b[0])
	}
}
