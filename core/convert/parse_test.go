package convert

import (
	"errors"
	"strings"
	"testing"
)

// render shows parsed statements compactly: words (quoted ones marked
// with ""), line numbers, and children in braces.
func render(stmts []*stmt) string {
	var parts []string
	for _, s := range stmts {
		var ws []string
		for _, w := range s.Words {
			if w.Quoted {
				ws = append(ws, `"`+w.Text+`"`)
			} else {
				ws = append(ws, w.Text)
			}
		}
		p := strings.Join(ws, " ") + "@" + itoa(s.Line)
		if s.Block {
			p += "{" + render(s.Children) + "}@" + itoa(s.EndLine)
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}

func itoa(n int) string {
	const digits = "0123456789"
	if n < 10 {
		return digits[n : n+1]
	}
	return itoa(n/10) + digits[n%10:n%10+1]
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"empty", "", ""},
		{"keyword", "router_id lb1", "router_id lb1@1"},
		{"comments", "! header\n# another\nrouter_id lb1 # trailing\nsmtp_server 127.0.0.1 ! too", "router_id lb1@3; smtp_server 127.0.0.1@4"},
		{"comment glued to a word", "auth_pass ab#cd", "auth_pass ab@1"},
		{"quoted comment chars", `auth_pass "a#b!c"`, `auth_pass "a#b!c"@1`},
		{"quoted blanks and braces", `script "/bin/sh -c 'x { y }'"`, `script "/bin/sh -c 'x { y }'"@1`},
		{"quote inside a word", `a x"y z"w`, `a "xy zw"@1`},
		{"tabs and CRLF", "a\tb\r\nc d\r\n", "a b@1; c d@2"},
		{"block", "global_defs {\n  router_id lb1\n}", "global_defs@1{router_id lb1@2}@3"},
		{"empty block", "track_script {\n}", "track_script@1{}@2"},
		{"one-line block", "virtual_ipaddress { 198.51.100.50/24 }", "virtual_ipaddress@1{198.51.100.50/24@1}@1"},
		{"no blanks around braces", "group{VI_1}", "group@1{VI_1@1}@1"},
		{"brace on the next line", "vrrp_script chk\n{\n  interval 2\n}", "vrrp_script chk@1{interval 2@3}@4"},
		{"brace after a comment line", "vrrp_script chk\n# why\n{\n}", "vrrp_script chk@1{}@4"},
		{"nested", "vrrp_sync_group G {\n group {\n  A\n  B C\n }\n notify x\n}",
			"vrrp_sync_group G@1{group@2{A@3; B C@4}@5; notify x@6}@7"},
		{"closing and more on one line", "a {\nb\n} c", "a@1{b@2}@3; c@3"},
		{"block opened mid-line keeps the rest", "a { b\nc }", "a@1{b@1; c@2}@2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stmts, err := parse(tc.src, "k.conf")
			if err != nil {
				t.Fatalf("parse(%q): %v", tc.src, err)
			}
			if got := render(stmts); got != tc.want {
				t.Errorf("parse(%q)\n got %s\nwant %s", tc.src, got, tc.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"unterminated quote", "a\nscript \"killall -0 nginx\n", `k.conf:2: unterminated quoted string`},
		{"stray close", "a {\n}\n}\n", `k.conf:3: "}" without a matching "{"`},
		{"unclosed block", "global_defs {\n  router_id x\n}\nvrrp_instance VI_1 {\n  priority 1\n", `k.conf:4: block "vrrp_instance VI_1" opened here is never closed`},
		{"unclosed inner block", "a {\n  b {\n}\n", `k.conf:1: block "a" opened here is never closed`},
		{"lone open brace", "\n{\n}", `k.conf:2: "{" without a keyword before it`},
		{"open brace first", "{ x }", `k.conf:1: "{" without a keyword before it`},
		{"open brace after a block", "a {\n}\n{\n}", `k.conf:3: "{" without a keyword before it`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(tc.src, "k.conf")
			if err == nil {
				t.Fatalf("parse(%q) succeeded, want %q", tc.src, tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("error %q, want %q", err, tc.want)
			}
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("error %v does not wrap ErrSyntax", err)
			}
			// Convert reports the same error and no policy.
			out, warns, cerr := Convert([]byte(tc.src), "k.conf")
			if cerr == nil || cerr.Error() != tc.want || out != nil || warns != nil {
				t.Errorf("Convert = %q, %v, %v; want nil, nil, %q", out, warns, cerr, tc.want)
			}
		})
	}
}

func TestSplitArgs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"/etc/keepalived/notify.sh", []string{"/etc/keepalived/notify.sh"}},
		{"/x.sh  a\tb", []string{"/x.sh", "a", "b"}},
		{"/x.sh 'a b' \"c d\" e", []string{"/x.sh", "a b", "c d", "e"}},
		{"/x.sh ''", []string{"/x.sh", ""}},
		{"   ", nil},
	} {
		got := splitArgs(tc.in)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
			t.Errorf("splitArgs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
