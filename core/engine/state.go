package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The operator's demote intent survives a restart: it lives in
// state_dir/demoted.json, written atomically with O_NOFOLLOW|O_EXCL on a
// temporary name (no symlink games, CVE-2018-19044 class). It is written
// by the caller of Demote, never by the loop: a slow disk delays the
// operator's command, not an advert.
const demoteFile = "demoted.json"

func (e *Engine) saveDemotes(names []string) error {
	if e.opts.StateDir == "" {
		return nil
	}
	if err := os.MkdirAll(e.opts.StateDir, 0o700); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	b, _ := json.Marshal(map[string][]string{"demoted": names})
	tmp := filepath.Join(e.opts.StateDir, "."+demoteFile+".tmp")
	_ = os.Remove(tmp)
	f, err := openNoFollow(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("save demote state: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("save demote state: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save demote state: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(e.opts.StateDir, demoteFile)); err != nil {
		return fmt.Errorf("save demote state: %w", err)
	}
	return nil
}

// restoreDemotes reads the saved intent: the set of demoted instances.
func (e *Engine) restoreDemotes() map[string]bool {
	if e.opts.StateDir == "" {
		return nil
	}
	b, err := readNoFollow(filepath.Join(e.opts.StateDir, demoteFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	var st struct {
		Demoted []string `json:"demoted"`
	}
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	if err != nil {
		e.log.Error().Err(err).Msg("ignoring unreadable demote state")
		return nil
	}
	out := map[string]bool{}
	for _, name := range st.Demoted {
		if e.byName[name] != nil {
			out[name] = true
			e.log.Info().Str("instance", name).Msg("instance stays demoted (operator intent from before restart)")
		}
	}
	return out
}

func readNoFollow(path string) ([]byte, error) {
	f, err := openNoFollow(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > 1<<20 {
		return nil, fmt.Errorf("%s: too large", path)
	}
	b := make([]byte, st.Size())
	_, err = f.Read(b)
	return b, err
}
