package trackfile

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// TestWatcher writes, replaces and deletes track files the ways operators
// do and expects each new value to be reported.
func TestWatcher(t *testing.T) {
	dir := t.TempDir()
	later := filepath.Join(dir, "later") // a directory that appears later
	files := []File{{Name: "a", Path: filepath.Join(dir, "a")}, {Name: "b", Path: filepath.Join(later, "b")}}
	if err := os.WriteFile(files[0].Path, []byte("3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	updates := make(chan Update, 64)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { NewWatcher(zerolog.Nop()).Run(ctx, files, func(u Update) { updates <- u }) })
	defer func() { cancel(); wg.Wait() }()

	expect := func(name string, v int64, note string) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			select {
			case u := <-updates:
				if u.Name == name && u.Value == v && (note == "" || u.Note == note) {
					return
				}
			case <-deadline:
				t.Fatalf("no update %s=%d (%q)", name, v, note)
			}
		}
	}
	expect("a", 3, "") // read when the watch starts
	write := func(p, s string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(files[0].Path, "-7\n")
	expect("a", -7, "")
	// replaced by a rename, as editors and `mv` do
	write(filepath.Join(dir, "a.tmp"), "0x10")
	if err := os.Rename(filepath.Join(dir, "a.tmp"), files[0].Path); err != nil {
		t.Fatal(err)
	}
	expect("a", 16, "")
	write(files[0].Path, "maintenance")
	expect("a", 0, "byte 1 is \"maintena\"…: not a number: read as 0")
	if err := os.Remove(files[0].Path); err != nil {
		t.Fatal(err)
	}
	expect("a", 0, "removed: read as 0")
	// the directory of b did not exist: it is watched once it does
	if err := os.Mkdir(later, 0o755); err != nil {
		t.Fatal(err)
	}
	write(files[1].Path, "42")
	expect("b", 42, "")
	write(files[1].Path, "43")
	expect("b", 43, "")
}

func TestReadAndInit(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if v, note := Read(p); v != 0 || note != "missing: read as 0" {
		t.Errorf("missing: %d %q", v, note)
	}
	if err := Init(p, 5, false); err != nil {
		t.Fatal(err)
	}
	if v, note := Read(p); v != 5 || note != "" {
		t.Errorf("after init: %d %q", v, note)
	}
	if err := Init(p, 9, false); err != nil { // exists: left alone
		t.Fatal(err)
	}
	if v, _ := Read(p); v != 5 {
		t.Errorf("init without overwrite changed the file: %d", v)
	}
	if err := Init(p, -9, true); err != nil {
		t.Fatal(err)
	}
	if v, _ := Read(p); v != -9 {
		t.Errorf("overwrite: %d", v)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(p, link); err != nil {
		t.Fatal(err)
	}
	if err := Init(link, 1, true); err == nil {
		t.Error("init wrote through a symlink")
	}
	if err := Init(filepath.Join(dir, "none", "f"), 1, false); err == nil {
		t.Error("init into a missing directory: no error")
	}
}
