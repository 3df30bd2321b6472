package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// render is what `hawatch validate` and a rejected reload print.
func render(t *testing.T, src, name string) string {
	t.Helper()
	cfg, diags := Parse([]byte(src), name)
	if !diags.HasErrors() {
		t.Fatalf("%s: no error", name)
	}
	var b bytes.Buffer
	if err := WriteDiagnostics(&b, cfg.Files, diags, false); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestDiagnosticsMaskSecrets: no diagnostic snippet shows an auth_pass or
// an auth_hmac key, whether the file parses or not, and the masked line
// keeps its length so the column markers still point right.
func TestDiagnosticsMaskSecrets(t *testing.T) {
	const pass, key = "s3cr3t!", "hawatch-secret-key-material-0123456789"
	for _, tc := range []struct {
		name, src string
	}{
		{"syntax error on the auth_pass line", vi(iface, vrid, prio, vip4, `version = 2`, `auth_pass = "`+pass+`" bogus`)},
		{"unterminated auth_pass", vi(iface, vrid, prio, vip4, `version = 2`, `auth_pass = "`+pass)},
		{"semantic error next to auth_pass", vi(iface, vrid, `priority = 0`, vip4, `version = 2`, `auth_pass = "`+pass+`"`)},
		{"auth_pass too long", vi(iface, vrid, prio, vip4, `version = 2`, `auth_pass = "`+pass+pass+`"`)},
		{"one-line key block with an error", vi(iface, vrid, prio, vip4, `auth_hmac { key "1" { value = "`+key+`" } active_key = 9 }`)},
		{"key too short", vi(iface, vrid, prio, vip4, `auth_hmac {`, `  key "1" { value = "`+pass+`" }`, `  active_key = 1`, `}`)},
		{"hex key with a bad digit", vi(iface, vrid, prio, vip4, `auth_hmac {`, `  key "1" { value = "hex:`+strings.Repeat("ab", 31)+`zz" }`, `  active_key = 1`, `}`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := render(t, tc.src, "bad.hcl")
			for _, secret := range []string{pass, key, strings.Repeat("ab", 31)} {
				if strings.Contains(out, secret) {
					t.Errorf("diagnostics print a secret:\n%s", out)
				}
			}
			if !strings.Contains(out, "bad.hcl:") {
				t.Errorf("no position in:\n%s", out)
			}
		})
	}
	if got, want := string(MaskSecrets([]byte(`auth_pass = "abc" # x`))), `auth_pass = "***" # x`; got != want {
		t.Errorf("MaskSecrets = %q, want %q", got, want)
	}
}

// TestInstanceNeverPrintsKeys: the decoded config carries the keys, and no
// way of printing it shows them.
func TestInstanceNeverPrintsKeys(t *testing.T) {
	const key = "hawatch-secret-key-material-0123456789"
	cfg, diags := Parse([]byte(vi(iface, vrid, prio, vip4, `auth_hmac {`, `  key "1" { value = "`+key+`" }`, `  active_key = 1`, `}`)), "ok.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	in := cfg.Instances[0]
	if in.HMAC == nil || string(in.HMAC.Keys[0].Secret) != key || in.HMAC.Mode != HMACEnforce ||
		in.HMAC.AntiReplay != AntiReplayTime || in.HMAC.TimeWindow != defaultMinTimeWindow {
		t.Fatalf("decoded %+v", in.HMAC)
	}
	js, _ := json.Marshal(cfg.Instances)
	for _, s := range []string{fmt.Sprintf("%v %+v %#v %s", in, *in, in, in.HMAC.Keys[0].Secret), fmt.Sprint(in.HMAC.Keys), string(js)} {
		if strings.Contains(s, key) || strings.Contains(s, fmt.Sprint([]byte(key))) {
			t.Errorf("printed a key: %s", s)
		}
	}
}

// TestKeyFiles: a key file must be 0600 or 0400 and owned by root or the
// daemon's user; its content takes the same forms as value.
func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good", "hex:"+strings.Repeat("0f", 32)+"\n", 0o600)
	ro := write("ro", hmacText, 0o400)
	loose := write("loose", hmacText, 0o644)
	short := write("short", "tiny", 0o600)
	for _, tc := range []struct {
		path, want string
	}{
		{good, ""}, {ro, ""}, {loose, "want a regular file with mode 0600 or 0400"}, {short, "4 bytes"},
		{"relative/key", "absolute path"}, {filepath.Join(dir, "absent"), "no such file"},
	} {
		_, err := readKeyFile(tc.path)
		if (tc.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.path, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), hmacText) {
			t.Errorf("%s: the error quotes the key: %v", tc.path, err)
		}
	}
	if os.Geteuid() == 0 {
		other := write("other", hmacText, 0o600)
		if err := os.Chown(other, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if _, err := readKeyFile(other); err == nil || !strings.Contains(err.Error(), "owned by uid 65534") {
			t.Errorf("key file owned by nobody: %v", err)
		}
	}
}

// TestPolicyWithSecretsReadableByOthers: Load warns when a file holding
// auth_pass or an inline key is readable by group or other.
func TestPolicyWithSecretsReadableByOthers(t *testing.T) {
	src := vi(iface, vrid, prio, vip4, `version = 2`, `advert_interval = "1s"`, `auth_pass = "secret"`)
	for _, tc := range []struct {
		mode os.FileMode
		warn bool
	}{{0o600, false}, {0o640, true}, {0o644, true}} {
		p := filepath.Join(t.TempDir(), "p.hcl")
		if err := os.WriteFile(p, []byte(src), tc.mode); err != nil {
			t.Fatal(err)
		}
		_ = os.Chmod(p, tc.mode)
		_, diags := Load(p)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		if got := len(diags) == 1 && strings.Contains(diags[0].Summary, "Secrets in a file others can read"); got != tc.warn {
			t.Errorf("mode %v: diagnostics %v, want warning %v", tc.mode, diags, tc.warn)
		}
	}
}
