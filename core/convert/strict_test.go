package convert

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestStrictSemantics: the converted strict golden loads as strict mode
// with the accept modes keepalived ran with.
func TestStrictSemantics(t *testing.T) {
	src, err := os.ReadFile("testdata/strict.conf")
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := Convert(src, "strict.conf")
	if err != nil {
		t.Fatal(err)
	}
	cfg := loadClean(t, "strict.hcl", out)
	if !cfg.Node.Strict {
		t.Fatal("node.strict not set")
	}
	want := map[string]bool{"VI_V2": true, "VI_V3": false, "VI_V6": true, "VI_TIMING": true} // no accept
	for _, in := range cfg.Instances {
		if in.NoAccept != want[in.Name] {
			t.Errorf("%s: no_accept %v, want %v", in.Name, in.NoAccept, want[in.Name])
		}
		if in.AuthPass != "" || in.PreemptDelay != 0 || in.GARP.Repeat != 1 || in.GARP.Delay != 0 || in.GARP.Refresh != 0 {
			t.Errorf("%s: strict resets not applied: %v preempt_delay %v garp %+v", in.Name, in, in.PreemptDelay, in.GARP)
		}
		if in.DownTimerAdverts != 3 || !in.LowerPrioNoAdvert || in.HigherPrioSendAdvert || in.GARP.LowerPrioRepeat != 0 {
			t.Errorf("%s: timing resets not applied: down_timer_adverts %d lower_prio_no_advert %v higher_prio_send_advert %v lower_prio_repeat %d",
				in.Name, in.DownTimerAdverts, in.LowerPrioNoAdvert, in.HigherPrioSendAdvert, in.GARP.LowerPrioRepeat)
		}
	}
}

// TestStrictModePerInstance: strict_mode on one instance of two. hawatch's
// strict mode is node-wide, so the node is not strict and the strict
// instance carries strict mode's effects itself.
func TestStrictModePerInstance(t *testing.T) {
	src := `
vrrp_instance A {
    interface eth0
    virtual_router_id 1
    priority 100
    strict_mode on
    garp_master_refresh 60
    virtual_ipaddress {
        198.51.100.50/24
    }
}
vrrp_instance B {
    interface eth0
    virtual_router_id 2
    priority 100
    virtual_ipaddress {
        198.51.100.51/24
    }
}
`
	out, warns, err := Convert([]byte(src), "k.conf")
	if err != nil {
		t.Fatal(err)
	}
	cfg := loadClean(t, "k.hcl", out)
	if cfg.Node.Strict {
		t.Fatal("node strict with a non-strict instance")
	}
	a, b := cfg.Instances[0], cfg.Instances[1]
	if !a.NoAccept || a.GARP.Repeat != 1 || a.GARP.Delay != 0 || a.GARP.Refresh != 0 || !a.LowerPrioNoAdvert || a.GARP.LowerPrioRepeat != 0 {
		t.Errorf("A: no_accept %v garp %+v, want strict effects", a.NoAccept, a.GARP)
	}
	if b.NoAccept || b.GARP.Delay != 5*time.Second {
		t.Errorf("B: no_accept %v garp %+v, want keepalived's defaults", b.NoAccept, b.GARP)
	}
	var blamed bool
	for _, w := range warns {
		blamed = blamed || strings.Contains(w.Message, "vrrp_instance B is not strict")
	}
	if !blamed {
		t.Errorf("no warning names the non-strict instance: %v", warns)
	}
}
