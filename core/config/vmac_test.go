package config

import (
	"strings"
	"testing"
)

func TestVMACDefaultsAndInterfaces(t *testing.T) {
	cfg := mustParse(t, vi(iface, vrid, prio, vip4, `vmac {}`)+
		block(`vrrp_instance "VI_2"`, iface, `virtual_router_id = 52`, prio, `virtual_ips = ["198.51.100.60/24"]`,
			`vmac {`, `  name = "vip52"`, `  xmit_base = true`, `}`)+
		block(`vrrp_instance "VI_3"`, iface, `virtual_router_id = 53`, prio, `virtual_ips = ["198.51.100.70/24"]`))
	one, two, three := cfg.Instances[0], cfg.Instances[1], cfg.Instances[2]
	if one.VMAC == nil || one.VMAC.Name != "vrrp.51" || one.VMAC.XmitBase {
		t.Errorf("VI_1 vmac = %+v", one.VMAC)
	}
	if one.VIPInterface() != "vrrp.51" || one.AdvertInterface() != "vrrp.51" {
		t.Errorf("VI_1 interfaces: VIPs %s, adverts %s", one.VIPInterface(), one.AdvertInterface())
	}
	if two.VMAC == nil || two.VMAC.Name != "vip52" || !two.VMAC.XmitBase {
		t.Errorf("VI_2 vmac = %+v", two.VMAC)
	}
	if two.VIPInterface() != "vip52" || two.AdvertInterface() != "eth0" {
		t.Errorf("VI_2 interfaces: VIPs %s, adverts %s", two.VIPInterface(), two.AdvertInterface())
	}
	if three.VMAC != nil || three.VIPInterface() != "eth0" || three.AdvertInterface() != "eth0" {
		t.Errorf("VI_3 without vmac: %+v %s %s", three.VMAC, three.VIPInterface(), three.AdvertInterface())
	}
}

func TestVMACValidation(t *testing.T) {
	second := func(lines ...string) string {
		return block(`vrrp_instance "VI_2"`, append([]string{`interface = "eth1"`, `virtual_router_id = 52`, prio,
			`virtual_ips = ["198.51.100.60/24"]`}, lines...)...)
	}
	cases := []badCase{
		{"name too long", vi(iface, vrid, prio, vip4, `vmac {`, `  name = "a-very-long-vmac-name"`, `}`),
			"Invalid value for vmac name", "longer than 15", 7, 5},
		{"name is the interface", vi(iface, vrid, prio, vip4, `vmac {`, `  name = "eth0"`, `}`),
			"vmac name is an instance's interface", "vrrp.51", 7, 5},
		{"xmit_base not bool", vi(iface, vrid, prio, vip4, `vmac {`, `  xmit_base = "yes"`, `}`),
			"Invalid value for xmit_base", "", 7, 5},
		{"ipv6", vi(iface, vrid, prio, `virtual_ips = ["2001:db8::50/64"]`, `vmac {}`),
			"vmac needs IPv4 virtual IPs", "not supported yet", 6, 3},
		{"address owner", vi(iface, vrid, `priority = 255`, `address_owner = true`, vip4, `vmac {}`),
			"vmac and address_owner together", "", 7, 3},
		{"duplicate name", vi(iface, vrid, prio, vip4, `vmac {}`) + second(`vmac {`, `  name = "vrrp.51"`, `}`),
			"Duplicate vmac name", `"VI_1"`, 14, 5},
		{"name of an instance's interface", vi(iface, vrid, prio, vip4, `vmac {`, `  name = "eth1"`, `}`) + second(),
			"vmac name is an instance's interface", "eth1", 7, 5},
		{"unicast without xmit_base", vi(iface, vrid, prio, vip4, `unicast_peers = ["198.51.100.12"]`, `vmac {}`),
			"vmac with unicast peers needs xmit_base", "xmit_base = true", 7, 3},
		{"unknown attribute", vi(iface, vrid, prio, vip4, `vmac {`, `  mac = "00:00:5e:00:01:33"`, `}`),
			"Unsupported argument", "", 7, 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := Parse([]byte(tc.src), "bad.hcl")
			var found bool
			for _, d := range diags {
				if strings.Contains(d.Summary, tc.summary) && strings.Contains(d.Detail, tc.detail) {
					found = true
					if d.Subject == nil || d.Subject.Start.Line != tc.line || d.Subject.Start.Column != tc.col {
						t.Errorf("subject %v, want %d:%d", d.Subject, tc.line, tc.col)
					}
				}
			}
			if !found {
				t.Fatalf("no diagnostic %q / %q in:\n%s\nfor:\n%s", tc.summary, tc.detail, dump(diags), tc.src)
			}
			if n := len(diags.Errs()); n != 1 {
				t.Errorf("%d errors, want exactly 1:\n%s", n, dump(diags))
			}
		})
	}
}
