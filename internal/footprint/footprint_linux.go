package footprint

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// mapping is one line of /proc/self/smaps with the fields Trim needs.
type mapping struct {
	start, end uintptr
	perms      string
	dev        uint64 // makedev(major, minor)
	inode      uint64
	anonymous  int64 // kB of private copies (COW) inside a file mapping
}

// dropExecutablePages unmaps the resident pages of the executable's
// read-only private mappings (code, read-only data, pclntab) with
// MADV_DONTNEED. For a private file mapping that only discards the page
// table entries: the next access maps the same page-cache page back
// (a minor fault), so the code and data are unchanged. A mapping holding
// private copies (Anonymous > 0) is skipped: there DONTNEED would replace
// the copy with the file's original bytes.
func dropExecutablePages() (unmapped int64, skipped int, err error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &st); err != nil {
		return 0, 0, fmt.Errorf("footprint: stat executable: %w", err)
	}
	maps, err := readSmaps("/proc/self/smaps")
	if err != nil {
		return 0, 0, err
	}
	for _, m := range maps {
		if m.inode != st.Ino || m.dev != st.Dev || strings.ContainsRune(m.perms, 'w') || !strings.HasSuffix(m.perms, "p") {
			continue
		}
		if m.anonymous > 0 {
			skipped++
			continue
		}
		// The raw call: these addresses are not Go memory, and a []byte
		// over them (unix.Madvise) would need an unsafe conversion.
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, m.start, m.end-m.start, unix.MADV_DONTNEED); errno != 0 {
			return unmapped, skipped, fmt.Errorf("footprint: madvise %x-%x %s: %w", m.start, m.end, m.perms, errno)
		}
		unmapped += int64(m.end - m.start)
	}
	return unmapped, skipped, nil
}

// readSmaps parses the mappings of an smaps file: the header line of each
// and its Anonymous: field.
func readSmaps(path string) ([]mapping, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("footprint: %w", err)
	}
	var out []mapping
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "Anonymous:") && len(out) > 0 {
			kb, ok := kbField(line, "Anonymous:")
			if !ok {
				return nil, fmt.Errorf("footprint: %s: bad line %q", path, line)
			}
			out[len(out)-1].anonymous = kb
			continue
		}
		m, ok, err := parseMapsHeader(line)
		if err != nil {
			return nil, fmt.Errorf("footprint: %s: %w", path, err)
		}
		if ok {
			out = append(out, m)
		}
	}
	return out, sc.Err()
}

// parseMapsHeader parses "start-end perms offset major:minor inode [path]";
// ok is false for the "Key: value" lines between headers.
func parseMapsHeader(line string) (m mapping, ok bool, err error) {
	f := strings.Fields(line)
	if len(f) < 5 || strings.HasSuffix(f[0], ":") {
		return m, false, nil
	}
	lo, hi, found := strings.Cut(f[0], "-")
	if !found {
		return m, false, nil
	}
	start, err1 := strconv.ParseUint(lo, 16, 64)
	end, err2 := strconv.ParseUint(hi, 16, 64)
	maj, mnr, _ := strings.Cut(f[3], ":")
	major, err3 := strconv.ParseUint(maj, 16, 32)
	minor, err4 := strconv.ParseUint(mnr, 16, 32)
	inode, err5 := strconv.ParseUint(f[4], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || err5 != nil || end < start {
		return m, false, fmt.Errorf("bad mapping line %q", line)
	}
	return mapping{start: uintptr(start), end: uintptr(end), perms: f[1],
		dev: unix.Mkdev(uint32(major), uint32(minor)), inode: inode}, true, nil
}

// residentBytes is VmRSS of this process, 0 when unreadable.
func residentBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if kb, ok := kbField(line, "VmRSS:"); ok {
			return kb << 10
		}
	}
	return 0
}

// kbField parses a "Key:   123 kB" line of /proc status or smaps.
func kbField(line, key string) (int64, bool) {
	v, ok := strings.CutPrefix(line, key)
	if !ok {
		return 0, false
	}
	kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
	return kb, err == nil
}
