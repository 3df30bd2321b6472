package convert

import (
	"strings"
	"testing"
)

func TestRecognise(t *testing.T) {
	// want is "kind field=value ..." with the idiom's non-empty fields, or
	// "" for a script that must stay unrecognised.
	for _, tc := range []struct {
		script, want string
	}{
		{"killall -0 nginx", "process name=nginx"},
		{"/usr/bin/killall -0 nginx", "process name=nginx"},
		{"killall -q -0 haproxy", "process name=haproxy"},
		{"killall -0 nginx 2>/dev/null", "process name=nginx"},
		{"killall -0 nginx >/dev/null 2>&1", "process name=nginx"},
		{"killall -0 nginx &>/dev/null", "process name=nginx"},
		{"killall nginx", ""},            // sends SIGTERM: not a check
		{"killall -9 nginx", ""},         // even less so
		{"killall -0 nginx haproxy", ""}, // two names: any-of, not expressible
		{"pidof nginx", "process name=nginx"},
		{"pidof -s -x /usr/sbin/nginx", "process name=nginx"},
		{"pidof nginx haproxy", ""},
		{"pgrep nginx", "process name=nginx"},
		{"pgrep -x nginx", "process name=nginx"},
		{"pgrep '^nginx$'", "process name=nginx"},
		{"pgrep -f 'nginx: master'", "process cmdline=nginx: master"},
		{"pgrep -xf 'nginx: master'", "process cmdline=^(?:nginx: master)$"},
		{"pgrep -F /run/nginx.pid", "process pidfile=/run/nginx.pid"},
		{"pgrep -F /run/nginx.pid nginx", "process name=nginx pidfile=/run/nginx.pid"},
		{"pgrep -u www-data nginx", ""},
		{"pgrep 'ngin.*'", ""},
		{"pgrep -f '('", ""}, // not a regular expression
		{"ps -C nginx", "process name=nginx"},
		{"ps -ef | grep nginx", "process name=nginx"},
		{"ps -ef | grep nginx | grep -v grep", "process name=nginx"},
		{"ps aux | grep -v grep | grep -q nginx", "process name=nginx"},
		{"ps aux | grep [n]ginx", "process name=nginx"},
		{"ps -ef | grep nginx | wc -l", ""}, // wc always exits 0
		{"ps -ef | grep 'nginx: master'", ""},
		{"systemctl is-active nginx", "process name=nginx"},
		{"systemctl is-active --quiet nginx.service", "process name=nginx"},
		{"systemctl is-active docker.socket", ""},
		{"systemctl is-active getty@tty1", ""},
		{"systemctl restart nginx", ""},
		{"service nginx status", "process name=nginx"},
		{"/bin/sh -c 'killall -0 nginx'", "process name=nginx"},
		{`bash -c "pidof nginx"`, "process name=nginx"},
		{"curl -sf http://198.51.100.11/healthz", "tcpprobe address=198.51.100.11:80 http=/healthz"},
		{"curl -s -f -o /dev/null --max-time 2 http://127.0.0.1:8080/ready?full=1", "tcpprobe address=127.0.0.1:8080 http=/ready?full=1"},
		{"curl -H 'Host: www.example.org' -f http://127.0.0.1/", "tcpprobe address=127.0.0.1:80 http=/ host=www.example.org"},
		{"curl http://[2001:db8::10]:8080", "tcpprobe address=[2001:db8::10]:8080 http=/"},
		{"curl -fsS https://localhost/health", "tcpprobe address=localhost:443"},
		{"curl -s http://127.0.0.1/status | grep -q OK", "tcpprobe address=127.0.0.1:80 http=/status expect=OK"},
		{"curl -X POST http://127.0.0.1/", ""},
		{"curl -I http://127.0.0.1/", ""},
		{"curl ftp://127.0.0.1/", ""},
		{"curl http://a http://b", ""},
		{"wget -q -O - http://127.0.0.1/status", "tcpprobe address=127.0.0.1:80 http=/status"},
		{"nc -z 198.51.100.11 80", "tcpprobe address=198.51.100.11:80"},
		{"nc -zv -w 2 198.51.100.11 80", "tcpprobe address=198.51.100.11:80"},
		{"nc -z -w2 2001:db8::11 443", "tcpprobe address=[2001:db8::11]:443"},
		{"nc -zu 198.51.100.11 53", ""}, // UDP
		{"nc 198.51.100.11 80", ""},     // no -z: it would wait for input
		{"nc -z 198.51.100.11 80-90", ""},
		{"nc -z 198.51.100.11 80 && systemctl stop keepalived", ""},
		{"</dev/tcp/127.0.0.1/80", "tcpprobe address=127.0.0.1:80"},
		{"bash -c '</dev/tcp/127.0.0.1/443'", "tcpprobe address=127.0.0.1:443"},
		{"bash -c 'cat < /dev/tcp/2001:db8::11/25'", "tcpprobe address=[2001:db8::11]:25"},
		{"bash -c '</dev/tcp/127.0.0.1/80 && echo'", ""},
		{"/etc/keepalived/check.sh", ""},
		{"test -f /etc/maintenance", ""},
		{"[ -f /etc/maintenance ]", ""},
		{"killall -0 $PROC", ""},
		{"pidof `cat /etc/name`", ""},
		{"sh -c 'pidof nginx; true'", ""},
		{"killall -0 'nginx", ""},
		{"", ""},
	} {
		got := describe(recognise(tc.script))
		if got != tc.want {
			t.Errorf("recognise(%q) = %q, want %q", tc.script, got, tc.want)
		}
	}
}

func describe(id idiom) string {
	if id.kind == kindUnknown {
		return ""
	}
	parts := []string{id.kind}
	for _, f := range []struct{ k, v string }{
		{"name", id.name}, {"cmdline", id.cmdline}, {"pidfile", id.pidfile},
		{"address", id.address}, {"http", id.httpPath}, {"host", id.httpHost}, {"expect", id.expect},
	} {
		if f.v != "" {
			parts = append(parts, f.k+"="+f.v)
		}
	}
	return strings.Join(parts, " ")
}

func TestSplitBrainName(t *testing.T) {
	for _, tc := range []struct {
		parts []string
		want  bool
	}{
		{[]string{"chk_split_brain", ""}, true},
		{[]string{"check", "/etc/keepalived/split-brain.sh"}, true},
		{[]string{"SplitBrain", ""}, true},
		{[]string{"chk_dual_master", ""}, true},
		{[]string{"chk_nginx", "killall -0 nginx"}, false},
		{[]string{"split", "brain"}, false},
	} {
		if got := splitBrainName(tc.parts...); got != tc.want {
			t.Errorf("splitBrainName(%q) = %v, want %v", tc.parts, got, tc.want)
		}
	}
}

func TestPeerApps(t *testing.T) {
	got := peerApps("nc -z 198.51.100.11 80 && nc -zw1 2001:db8::11 443 && nc -z host.example 80 && nc -z 198.51.100.12 99999")
	want := "198.51.100.11:80 [2001:db8::11]:443"
	if strings.Join(got, " ") != want {
		t.Errorf("peerApps = %q, want %q", got, want)
	}
}
