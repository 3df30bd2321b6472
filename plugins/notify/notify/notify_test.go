package notify

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hawatch/hawatch/sdk"
)

var at = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func transition(from, to string) sdk.Transition {
	return sdk.Transition{Instance: "VI_1", From: from, To: to, Priority: 100, Reason: "nginx: 0 processes, want >= 1", At: at}
}

func configure(t *testing.T, cfg map[string]any) *Plugin {
	t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := New()
	if err := p.Configure(context.Background(), sdk.Config{Raw: raw}); err != nil {
		t.Fatalf("Configure(%s): %v", raw, err)
	}
	return p
}

func notify(t *testing.T, p *Plugin, tr sdk.Transition, deadline time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	return p.Notify(ctx, tr)
}

// --- SMTP -------------------------------------------------------------

type mailMsg struct {
	helo string
	from string
	to   []string
	data string
}

// fakeSMTP is just enough of an SMTP server for net/smtp: it answers every
// command, stores each accepted message and sends it on the channel.
func fakeSMTP(t *testing.T, rcptReply string) (string, <-chan mailMsg) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	mails := make(chan mailMsg, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveSMTP(c, rcptReply, mails)
		}
	}()
	return ln.Addr().String(), mails
}

func serveSMTP(c net.Conn, rcptReply string, mails chan<- mailMsg) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(s string) { fmt.Fprint(c, s+"\r\n") }
	say("220 fake.test ESMTP")
	var m mailMsg
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		cmd := strings.ToUpper(line)
		switch {
		case strings.HasPrefix(cmd, "EHLO "), strings.HasPrefix(cmd, "HELO "):
			m.helo = line[5:]
			say("250-fake.test")
			say("250 8BITMIME")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			m.from = strings.Trim(strings.Fields(line[10:])[0], "<>")
			say("250 ok")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			m.to = append(m.to, strings.Trim(line[8:], "<>"))
			say(rcptReply)
		case cmd == "DATA":
			say("354 go ahead")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, "."))
			}
			m.data = data.String()
			mails <- m
			m = mailMsg{helo: m.helo}
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

func TestSMTPOneMailPerTransition(t *testing.T) {
	addr, mails := fakeSMTP(t, "250 ok")
	p := configure(t, map[string]any{
		"node": "lb1",
		"smtp": map[string]any{"server": addr, "from": "hawatch@lb1", "to": []string{"ops@example.org", "oncall@example.org"},
			"helo": "lb1.example.org", "connect_timeout": "2s"},
	})
	steps := []sdk.Transition{transition("INIT", "BACKUP"), transition("BACKUP", "MASTER"), transition("MASTER", "FAULT")}
	for _, tr := range steps {
		if err := notify(t, p, tr, 5*time.Second); err != nil {
			t.Fatalf("Notify %s -> %s: %v", tr.From, tr.To, err)
		}
	}
	for _, tr := range steps {
		var m mailMsg
		select {
		case m = <-mails:
		case <-time.After(5 * time.Second):
			t.Fatalf("no mail for %s -> %s", tr.From, tr.To)
		}
		if m.helo != "lb1.example.org" || m.from != "hawatch@lb1" || strings.Join(m.to, ",") != "ops@example.org,oncall@example.org" {
			t.Errorf("envelope helo=%q from=%q to=%v", m.helo, m.from, m.to)
		}
		for _, want := range []string{
			"Subject: [hawatch] VI_1 " + tr.From + " -> " + tr.To + " on lb1\r\n",
			"From: hawatch@lb1\r\n",
			"To: ops@example.org, oncall@example.org\r\n",
			"\r\nInstance:  VI_1\r\n",
			"Old state: " + tr.From + "\r\n",
			"New state: " + tr.To + "\r\n",
			"Priority:  100\r\n",
			"Reason:    nginx: 0 processes, want >= 1\r\n",
			"Time:      2026-03-04T05:06:07Z\r\n",
		} {
			if !strings.Contains(m.data, want) {
				t.Errorf("mail for %s -> %s lacks %q:\n%s", tr.From, tr.To, want, m.data)
			}
		}
	}
	select {
	case m := <-mails:
		t.Errorf("unexpected extra mail: %q", m.data)
	default:
	}
}

func TestSMTPGroupAndHeaderInjection(t *testing.T) {
	addr, mails := fakeSMTP(t, "250 ok")
	p := configure(t, map[string]any{"node": "lb1", "smtp": map[string]any{"server": addr, "from": "a@b", "to": []string{"c@d"}}})
	tr := sdk.Transition{Group: "G1", From: "BACKUP", To: "MASTER", Priority: 50, Reason: "line1\r\nBcc: evil@example.org", At: at}
	if err := notify(t, p, tr, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	m := <-mails
	if !strings.Contains(m.data, "Subject: [hawatch] group G1 BACKUP -> MASTER on lb1\r\n") {
		t.Errorf("group subject missing:\n%s", m.data)
	}
	if strings.Contains(m.data, "\r\nBcc:") || !strings.Contains(m.data, "Reason:    line1 Bcc: evil@example.org\r\n") {
		t.Errorf("reason not flattened to one line:\n%s", m.data)
	}
	if m.helo != "lb1" {
		t.Errorf("helo %q, want the node name", m.helo)
	}
}

func TestSMTPFailures(t *testing.T) {
	refused, _ := fakeSMTP(t, "550 no such user")
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	tests := []struct {
		name, server, want string
	}{
		{"recipient refused", refused, "RCPT TO c@d: 550"},
		{"server down", closed, "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := configure(t, map[string]any{"smtp": map[string]any{"server": tt.server, "from": "a@b", "to": []string{"c@d"}}})
			err := notify(t, p, transition("BACKUP", "MASTER"), 5*time.Second)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "smtp: ") {
				t.Fatalf("Notify = %v, want an smtp error containing %q", err, tt.want)
			}
		})
	}
}

// --- webhook ----------------------------------------------------------

type hook struct {
	srv      *httptest.Server
	requests atomic.Int32
	mu       sync.Mutex
	bodies   []Payload
}

// newHook answers each POST with the next of codes (the last repeats);
// code 0 means hang until the client gives up.
func newHook(t *testing.T, codes ...int) *hook {
	t.Helper()
	h := &hook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(h.requests.Add(1))
		var p Payload
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&p) != nil {
			w.WriteHeader(http.StatusUnsupportedMediaType)
			return
		}
		h.mu.Lock()
		h.bodies = append(h.bodies, p)
		h.mu.Unlock()
		code := codes[min(n, len(codes))-1]
		if code == 0 {
			<-r.Context().Done()
			return
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func TestWebhook(t *testing.T) {
	tests := []struct {
		name         string
		codes        []int
		retries      int
		timeout      string
		wantErr      string // "" for success
		wantRequests int32
	}{
		{"delivered", []int{204}, 3, "1s", "", 1},
		{"transient failures are retried", []int{503, 500, 200}, 3, "1s", "", 3},
		{"retries are bounded", []int{500}, 2, "1s", "3 attempts: status 500", 3},
		{"429 is retried", []int{429, 200}, 1, "1s", "", 2},
		{"a client error is not retried", []int{400}, 3, "1s", "1 attempts: permanent failure: status 400", 1},
		{"a redirect is not followed", []int{302}, 3, "1s", "permanent failure: status 302", 1},
		{"each attempt has a timeout", []int{0}, 1, "50ms", "2 attempts", 2},
		{"no retries", []int{500}, 0, "1s", "1 attempts", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHook(t, tt.codes...)
			p := configure(t, map[string]any{"node": "lb1", "webhook": map[string]any{
				"url": h.srv.URL + "/hook", "retries": tt.retries, "timeout": tt.timeout, "backoff": "1ms"}})
			err := notify(t, p, transition("BACKUP", "MASTER"), 10*time.Second)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Notify = %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Notify = %v, want error containing %q", err, tt.wantErr)
			}
			if got := h.requests.Load(); got != tt.wantRequests {
				t.Errorf("%d requests, want %d", got, tt.wantRequests)
			}
			h.mu.Lock()
			defer h.mu.Unlock()
			want := Payload{Event: "transition", Node: "lb1", Instance: "VI_1", From: "BACKUP", To: "MASTER",
				Priority: 100, Reason: "nginx: 0 processes, want >= 1", At: at}
			for i, b := range h.bodies {
				if b != want {
					t.Errorf("body %d = %+v, want %+v", i, b, want)
				}
			}
		})
	}
}

func TestWebhookStopsAtTheDeadline(t *testing.T) {
	h := newHook(t, 500)
	p := configure(t, map[string]any{"webhook": map[string]any{"url": h.srv.URL, "retries": 100, "timeout": "1s", "backoff": "20ms"}})
	start := time.Now()
	err := notify(t, p, transition("BACKUP", "MASTER"), 200*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "status 500") {
		t.Fatalf("Notify = %v", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %s after a 200ms deadline", el)
	}
	if n := h.requests.Load(); n < 2 || n >= 100 {
		t.Errorf("%d requests: want a few retries cut short by the deadline", n)
	}
}

// --- exec -------------------------------------------------------------

func script(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

const recordScript = `out="$1"; shift
{ printf 'arg=%s\n' "$@"; env | grep '^HAWATCH_' | sort; } > "$out"
`

func TestExecArgumentsAndEnvironment(t *testing.T) {
	tests := []struct {
		name string
		tr   sdk.Transition
		want []string
	}{
		{"instance", transition("BACKUP", "MASTER"), []string{
			"arg=INSTANCE", "arg=VI_1", "arg=MASTER", "arg=100",
			"HAWATCH_INSTANCE=VI_1", "HAWATCH_GROUP=", "HAWATCH_FROM=BACKUP", "HAWATCH_TO=MASTER",
			"HAWATCH_PRIORITY=100", "HAWATCH_REASON=nginx: 0 processes, want >= 1", "HAWATCH_NODE=lb1",
			"HAWATCH_AT=2026-03-04T05:06:07Z", "HAWATCH_FENCING_TOKEN=0",
		}},
		{"fencing token", func() sdk.Transition { t := transition("BACKUP", "MASTER"); t.FencingToken = 4711; return t }(), []string{
			"HAWATCH_FENCING_TOKEN=4711",
		}},
		{"group", sdk.Transition{Group: "G1", From: "MASTER", To: "BACKUP", Priority: 50, At: at}, []string{
			"arg=GROUP", "arg=G1", "arg=BACKUP", "arg=50", "HAWATCH_INSTANCE=", "HAWATCH_GROUP=G1",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			p := configure(t, map[string]any{"node": "lb1", "exec": map[string]any{"command": script(t, recordScript), "args": []string{out}}})
			if err := notify(t, p, tt.tr, 5*time.Second); err != nil {
				t.Fatalf("Notify: %v", err)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			for _, w := range tt.want {
				found := false
				for _, l := range lines {
					found = found || l == w
				}
				if !found {
					t.Errorf("missing %q in:\n%s", w, b)
				}
			}
			if args := strings.Count(string(b), "arg="); args != 4 {
				t.Errorf("%d notify arguments, want 4:\n%s", args, b)
			}
		})
	}
}

func TestExecFailureQuotesOutput(t *testing.T) {
	p := configure(t, map[string]any{"exec": map[string]any{"command": script(t, "echo 'cannot reach pager' >&2\nexit 3\n")}})
	err := notify(t, p, transition("BACKUP", "MASTER"), 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "cannot reach pager") {
		t.Fatalf("Notify = %v", err)
	}
	p = configure(t, map[string]any{"exec": map[string]any{"command": "/nonexistent/notify"}})
	if err := notify(t, p, transition("BACKUP", "MASTER"), 5*time.Second); err == nil {
		t.Fatal("missing command: no error")
	}
}

// hangScript ignores SIGTERM, starts a child that ignores it too, records
// both PIDs and waits: only SIGKILL of the whole group ends it.
const hangScript = `trap '' TERM
echo $$ > "$1"
sleep 60 &
echo $! >> "$1"
echo started
wait
`

func TestExecTimeoutKillsProcessGroup(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		timeout    string
		deadline   time.Duration
		minElapsed time.Duration // grace honoured
		maxElapsed time.Duration
	}{
		{"ignores TERM: killed after the grace", hangScript, "150ms", 10 * time.Second, 150*time.Millisecond + 200*time.Millisecond, 5 * time.Second},
		{"dies on TERM: no grace wait", "echo $$ > \"$1\"\nexec sleep 60\n", "150ms", 10 * time.Second, 150 * time.Millisecond, 5 * time.Second},
		{"the action deadline applies without timeout", hangScript, "", 150 * time.Millisecond, 150*time.Millisecond + 200*time.Millisecond, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pids := filepath.Join(t.TempDir(), "pids")
			ex := map[string]any{"command": script(t, tt.body), "args": []string{pids}, "grace": "200ms"}
			if tt.timeout != "" {
				ex["timeout"] = tt.timeout
			}
			p := configure(t, map[string]any{"exec": ex})
			start := time.Now()
			err := notify(t, p, transition("BACKUP", "MASTER"), tt.deadline)
			elapsed := time.Since(start)
			if !errors.Is(err, ErrKilled) {
				t.Fatalf("Notify = %v, want ErrKilled", err)
			}
			if elapsed < tt.minElapsed || elapsed > tt.maxElapsed {
				t.Errorf("took %s, want %s..%s", elapsed, tt.minElapsed, tt.maxElapsed)
			}
			if strings.HasPrefix(tt.name, "dies on TERM") && elapsed >= 150*time.Millisecond+200*time.Millisecond {
				t.Errorf("took %s: waited the grace for a command that obeyed TERM", elapsed)
			}
			b, err := os.ReadFile(pids)
			if err != nil {
				t.Fatal(err)
			}
			leader, _ := strconv.Atoi(strings.Fields(string(b))[0])
			if live := liveGroupMembers(t, leader); len(live) > 0 {
				t.Errorf("process group %d still has live members %v", leader, live)
				for _, pid := range live {
					_ = syscall.Kill(pid, syscall.SIGKILL) // leave nothing behind
				}
			}
		})
	}
}

// liveGroupMembers lists processes of the group that are neither gone nor
// zombies (a zombie waits only for its new parent to reap it).
func liveGroupMembers(t *testing.T, pgid int) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	var live []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		i := strings.LastIndex(string(b), ") ")
		f := strings.Fields(string(b)[i+2:]) // state ppid pgrp ...
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); g == pgid {
			live = append(live, pid)
		}
	}
	return live
}

// --- all sinks, config ----------------------------------------------------

func TestAllSinksTogether(t *testing.T) {
	addr, mails := fakeSMTP(t, "250 ok")
	h := newHook(t, 200)
	out := filepath.Join(t.TempDir(), "out")
	p := configure(t, map[string]any{
		"exec":    map[string]any{"command": script(t, recordScript), "args": []string{out}},
		"smtp":    map[string]any{"server": addr, "from": "a@b", "to": []string{"c@d"}},
		"webhook": map[string]any{"url": h.srv.URL},
	})
	if err := notify(t, p, transition("BACKUP", "MASTER"), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("exec did not run: %v", err)
	}
	if h.requests.Load() != 1 {
		t.Errorf("webhook got %d requests", h.requests.Load())
	}
	select {
	case <-mails:
	default:
		t.Error("no mail")
	}
}

func TestOneSinkFailingDoesNotStopTheOthers(t *testing.T) {
	h := newHook(t, 200)
	p := configure(t, map[string]any{
		"exec":    map[string]any{"command": script(t, "exit 1\n")},
		"webhook": map[string]any{"url": h.srv.URL},
	})
	err := notify(t, p, transition("BACKUP", "MASTER"), 5*time.Second)
	if err == nil || !strings.HasPrefix(err.Error(), "exec: ") {
		t.Fatalf("Notify = %v, want the exec error", err)
	}
	if h.requests.Load() != 1 {
		t.Errorf("webhook got %d requests despite exec failing", h.requests.Load())
	}
}

func TestConfigure(t *testing.T) {
	tests := []struct {
		name string
		json string
		ok   bool
	}{
		{"as the host sends absent blocks", `{"node":null,"exec":{"command":"/bin/true","args":[],"timeout":null,"grace":"2s"},"smtp":null,"webhook":null}`, true},
		{"issue example", `{"exec":{"command":"/etc/hawatch/notify.sh","args":[]},"smtp":{"server":"127.0.0.1:25","from":"hawatch@lb1","to":["ops@example.org"],"helo":"lb1","connect_timeout":"30s"},"webhook":{"url":"http://127.0.0.1:9000/hook","retries":3}}`, true},
		{"no sink", `{"node":"lb1","exec":null,"smtp":null,"webhook":null}`, false},
		{"exec without command", `{"exec":{"args":["x"]}}`, false},
		{"smtp server without port", `{"smtp":{"server":"mail","from":"a@b","to":["c@d"]}}`, false},
		{"smtp bad from", `{"smtp":{"server":"mail:25","from":"not an address","to":["c@d"]}}`, false},
		{"smtp no recipients", `{"smtp":{"server":"mail:25","from":"a@b","to":[]}}`, false},
		{"smtp bad recipient", `{"smtp":{"server":"mail:25","from":"a@b","to":["c@d","x\r\nRCPT TO:<e@f>"]}}`, false},
		{"smtp helo with space", `{"smtp":{"server":"mail:25","from":"a@b","to":["c@d"],"helo":"a b"}}`, false},
		{"webhook ftp", `{"webhook":{"url":"ftp://x/"}}`, false},
		{"webhook negative retries", `{"webhook":{"url":"http://x/","retries":-1}}`, false},
		{"node with newline", `{"node":"a\nb","webhook":{"url":"http://x/"}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := New().Configure(context.Background(), sdk.Config{Raw: []byte(tt.json)})
			if tt.ok && err != nil {
				t.Fatalf("Configure = %v", err)
			}
			if !tt.ok && !errors.Is(err, ErrConfig) {
				t.Fatalf("Configure = %v, want ErrConfig", err)
			}
		})
	}
}

func TestSchemaBlocksHaveARequiredAttribute(t *testing.T) {
	s := New().Schema()
	if len(s.Blocks) != 3 {
		t.Fatalf("blocks %+v", s.Blocks)
	}
	for _, b := range s.Blocks {
		req := false
		for _, a := range b.Schema.Attributes {
			req = req || a.Required
		}
		if !req {
			t.Errorf("block %s has no required attribute: absent, it would arrive as an object of defaults", b.Name)
		}
	}
	if info := New().Info(); info.Name != "notify" || info.Kind != sdk.KindAction {
		t.Errorf("Info = %+v", info)
	}
}

func TestNotifyBeforeConfigure(t *testing.T) {
	if err := New().Notify(context.Background(), transition("A", "B")); !errors.Is(err, ErrNotConfigured) {
		t.Fatalf("Notify = %v", err)
	}
}
