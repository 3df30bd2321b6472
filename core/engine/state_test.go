package engine

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"

	"github.com/hawatch/hawatch/core/config"
)

// TestDemoteStateRefusesSymlinks: the saved demote intent is never read
// through a symlink, and saving never writes through one (the temporary
// file or the state file itself), so a planted link cannot make hawatch
// read or clobber another file (CVE-2018-19044 class).
func TestDemoteStateRefusesSymlinks(t *testing.T) {
	cfg, diags := config.Parse([]byte(policy(100, "")), "p.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim")
	const original = `{"demoted":["VI_1"]}`
	if err := os.WriteFile(victim, []byte(original), 0o600); err != nil {
		t.Fatal(err)
	}
	e, err := New(zerolog.Nop(), cfg, Options{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, demoteFile)
	if err := os.Symlink(victim, state); err != nil {
		t.Fatal(err)
	}
	if got := e.restoreDemotes(); len(got) != 0 {
		t.Errorf("read the demote intent through a symlink: %v", got)
	}
	if err := os.Symlink(victim, filepath.Join(dir, "."+demoteFile+".tmp")); err != nil {
		t.Fatal(err)
	}
	if err := e.saveDemotes(nil); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != original {
		t.Errorf("saving wrote through a symlink: victim now %q", b)
	}
	if fi, err := os.Lstat(state); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("state file after save: %v, %v; want a regular file replacing the link", fi, err)
	}
	// And a real file is read back.
	if err := e.saveDemotes([]string{"VI_1"}); err != nil {
		t.Fatal(err)
	}
	if got := e.restoreDemotes(); !got["VI_1"] {
		t.Errorf("restore after save: %v", got)
	}
}
