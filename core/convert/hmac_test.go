package convert

import (
	"strings"
	"testing"
)

// TestHMACKeyFile: keepalived's `key N file:PATH` keeps the key in its file;
// the policy names the file and never holds the key.
func TestHMACKeyFile(t *testing.T) {
	src := `vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    auth_hmac {
        key 3 file:/etc/keepalived/vi1.key
        active_key 3
    }
    virtual_ipaddress {
        198.51.100.50/24
    }
}
`
	out, warns, err := Convert([]byte(src), "k.conf")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `key "3" {`) || !strings.Contains(string(out), `file = "/etc/keepalived/vi1.key"`) ||
		strings.Contains(string(out), "value") || strings.Contains(string(out), "file:") {
		t.Errorf("converted:\n%s", out)
	}
	if len(warns) != 0 {
		t.Errorf("warnings %v", warns)
	}
}
