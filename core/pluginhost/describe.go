package pluginhost

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hawatch/hawatch/sdk"
)

// Description is what `hawatch validate` needs from a plugin binary.
type Description struct {
	Info   sdk.Info
	Schema sdk.Schema
}

// FetchSchema returns the schema of spec's plugin; see Describe.
func (m *Manager) FetchSchema(ctx context.Context, spec PluginSpec) (sdk.Schema, error) {
	d, err := m.Describe(ctx, spec)
	return d.Schema, err
}

// Describe returns the plugin's identity and config schema. The binary gets
// the same path, checksum and identity checks as a real start; then the
// answer comes from the schema cache (keyed by the binary's sha256, so a
// rebuilt binary is asked again) or from starting the plugin just long
// enough to ask.
func (m *Manager) Describe(ctx context.Context, spec PluginSpec) (Description, error) {
	path := spec.Path()
	cred, err := lookupUser(spec.User)
	if err != nil {
		return Description{}, err
	}
	pluginUID := -1
	if cred != nil {
		pluginUID = int(cred.uid)
	}
	if err := checkBinary(path, pluginUID); err != nil {
		return Description{}, err
	}
	sum, err := fileSHA256(path)
	if err != nil {
		return Description{}, err
	}
	if spec.SHA256 != "" {
		if _, err := verifyChecksum(path, spec.SHA256); err != nil {
			return Description{}, err
		}
	}
	key := hex.EncodeToString(sum)
	if d, ok := m.cachedDescription(key); ok {
		if d.Info.Name != spec.Name {
			return Description{}, fmt.Errorf("plugin %s (%s): %w: binary reports %s plugin %q",
				spec.Name, path, ErrIdentity, d.Info.Kind, d.Info.Name)
		}
		return d, nil
	}

	d, err := m.probe(ctx, spec)
	if err != nil {
		return Description{}, err
	}
	if err := m.storeDescription(key, d); err != nil {
		m.log.Warn().Err(err).Str("plugin", spec.Name).Msg("cannot cache plugin schema")
	}
	return d, nil
}

// cacheVersion changes when Description gains fields (v2: constraints and
// rules), so an entry written by an older host, which dropped them, is not
// trusted for the same binary.
const cacheVersion = "v2"

func (m *Manager) cachePath(key string) string {
	return filepath.Join(m.opts.SchemaCacheDir, key+"."+cacheVersion+".json")
}

func (m *Manager) cachedDescription(key string) (Description, bool) {
	if m.opts.SchemaCacheDir == "" {
		return Description{}, false
	}
	b, err := os.ReadFile(m.cachePath(key))
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			m.log.Warn().Err(err).Msg("plugin schema cache")
		}
		return Description{}, false
	}
	var d Description
	if err := json.Unmarshal(b, &d); err != nil {
		m.log.Warn().Err(err).Str("file", m.cachePath(key)).Msg("ignoring corrupt plugin schema cache entry")
		return Description{}, false
	}
	return d, true
}

// storeDescription writes the cache entry atomically, readable by root
// only: `hawatch validate` trusts it instead of running the binary.
func (m *Manager) storeDescription(key string, d Description) error {
	if m.opts.SchemaCacheDir == "" {
		return nil
	}
	if err := os.MkdirAll(m.opts.SchemaCacheDir, 0o700); err != nil {
		return fmt.Errorf("schema cache: %w", err)
	}
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("schema cache: %w", err)
	}
	tmp, err := os.CreateTemp(m.opts.SchemaCacheDir, key+".*.tmp")
	if err != nil {
		return fmt.Errorf("schema cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("schema cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("schema cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), m.cachePath(key)); err != nil {
		return fmt.Errorf("schema cache: %w", err)
	}
	return nil
}

// TryConfigure starts spec's plugin once, as a kind plugin, and hands it
// each of configs in turn through Configure, so `hawatch validate` (and a
// start or reload, before anything changes) sees the plugin's own verdict on
// every config block. errs[i] is Configure's error for configs[i]; err is a
// failure to start the plugin at all. Configure must therefore be free of
// side effects: the SDK documents that.
func (m *Manager) TryConfigure(ctx context.Context, spec PluginSpec, kind sdk.Kind, configs []json.RawMessage) (errs []error, err error) {
	p, err := m.launch(ctx, spec, kind)
	if err != nil {
		return nil, err
	}
	defer p.kill()
	errs = make([]error, len(configs))
	for i, raw := range configs {
		cctx, cancel := context.WithTimeout(ctx, m.opts.CallTimeout)
		errs[i] = p.base().Configure(cctx, sdk.Config{Raw: raw})
		cancel()
		if p.exited() {
			return errs, fmt.Errorf("plugin %s (%s): exited during configure", spec.Name, spec.Path())
		}
	}
	return errs, nil
}

// DescribeBinary starts the plugin binary at path (an absolute path, with
// the usual path-safety checks) just long enough to read its identity and
// schema, whatever name it reports: `hawatch plugin describe`.
func (m *Manager) DescribeBinary(ctx context.Context, path string) (Description, error) {
	return m.probe(ctx, PluginSpec{Command: path})
}

// probe starts spec's plugin just long enough to read its identity and
// schema.
func (m *Manager) probe(ctx context.Context, spec PluginSpec) (Description, error) {
	p, err := m.launch(ctx, spec, "")
	if err != nil {
		return Description{}, err
	}
	defer p.kill()
	cctx, cancel := context.WithTimeout(ctx, m.opts.CallTimeout)
	defer cancel()
	schema, err := p.base().Schema(cctx)
	if err != nil {
		return Description{}, fmt.Errorf("plugin %s (%s): schema: %w", spec.Name, spec.Path(), err)
	}
	return Description{Info: p.info, Schema: schema}, nil
}
