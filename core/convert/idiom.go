package convert

import (
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Plugin kinds a vrrp_script can become.
const (
	kindUnknown    = ""
	kindProcess    = "process"
	kindTCPProbe   = "tcpprobe"
	kindSplitBrain = "splitbrain"
)

// idiom is what a keepalived check script was recognised as.
type idiom struct {
	kind string

	// process plugin
	name    string // comm / executable name
	cmdline string // regular expression on the command line
	pidfile string

	// tcpprobe plugin
	address  string // host:port
	httpPath string // "" for a connect-only probe
	httpHost string
	expect   string

	// notes explain where the hawatch check differs from the script.
	notes []string
}

// recognise maps the common one-line liveness scripts onto a plugin. It is
// deliberately strict: a command it does not fully understand stays
// unrecognised rather than becoming a check that tests something else.
func recognise(script string) idiom {
	// bash's </dev/tcp/HOST/PORT: succeeds when the port accepts.
	if m := devTCP.FindStringSubmatch(script); m != nil {
		if n, err := strconv.Atoi(m[2]); err == nil && n >= 1 && n <= 65535 {
			host := strings.TrimSuffix(strings.TrimPrefix(m[1], "["), "]")
			return idiom{kind: kindTCPProbe, address: net.JoinHostPort(host, m[2])}
		}
	}
	toks, ok := shellTokens(script)
	if !ok {
		return idiom{}
	}
	cmds, ok := pipeline(toks)
	if !ok {
		return idiom{}
	}
	// sh -c '...': the script is the inner command line.
	if len(cmds) == 1 && len(cmds[0]) == 3 && isShell(cmds[0][0]) && cmds[0][1] == "-c" {
		return recognise(cmds[0][2])
	}
	if len(cmds) == 1 {
		return single(cmds[0])
	}
	return piped(cmds)
}

func isShell(argv0 string) bool {
	switch baseName(argv0) {
	case "sh", "bash", "dash", "ash", "zsh", "ksh":
		return true
	}
	return false
}

var (
	// plainName matches process names that need no regular expression.
	plainName = regexp.MustCompile(`^[A-Za-z0-9_.:@+-]+$`)
	// bracketTrick is grep's "[n]ginx", which keeps grep from matching
	// its own command line.
	bracketTrick = regexp.MustCompile(`^([^\[\]]*)\[([^\[\]])\]([^\[\]]*)$`)
	// devTCP is bash's connect test, `</dev/tcp/HOST/PORT` (also after cat).
	devTCP = regexp.MustCompile(`^\s*(?:cat\s*)?<\s*/dev/tcp/([0-9A-Za-z.:\[\]-]+)/([0-9]{1,5})\s*$`)
	// ncProbe is an `nc -z HOST PORT` anywhere in a script.
	ncProbe = regexp.MustCompile(`\bnc\s+(?:-[a-zA-Z0-9]+\s+)*-[a-zA-Z]*z[a-zA-Z0-9]*\s+(?:-[a-zA-Z0-9]+\s+)*([0-9A-Fa-f.:]+)\s+([0-9]{1,5})\b`)
)

func single(argv []string) idiom {
	args := argv[1:]
	switch baseName(argv[0]) {
	case "killall":
		return killall(args)
	case "pidof":
		return pidof(args)
	case "pgrep":
		return pgrep(args)
	case "systemctl":
		return systemctl(args)
	case "service":
		if len(args) == 2 && args[1] == "status" && plainName.MatchString(args[0]) {
			return unitIdiom(args[0], "service "+args[0]+" status")
		}
	case "ps":
		// ps -C nginx: exit status 1 when no process has that name.
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "-C" && plainName.MatchString(args[i+1]) {
				return idiom{kind: kindProcess, name: args[i+1]}
			}
		}
	case "curl", "wget":
		return httpGet(baseName(argv[0]), args, "")
	case "nc", "ncat", "netcat":
		return netcat(args)
	}
	return idiom{}
}

// killall -0 NAME sends no signal and fails when no process has that name.
func killall(args []string) idiom {
	zero := false
	var names []string
	for _, a := range args {
		switch {
		case a == "-0" || a == "-s0" || a == "--signal=0":
			zero = true
		case a == "-q" || a == "--quiet" || a == "-e" || a == "--exact" || a == "-w" || a == "--wait":
		case strings.HasPrefix(a, "-"):
			return idiom{}
		default:
			names = append(names, a)
		}
	}
	if !zero || len(names) != 1 || !plainName.MatchString(names[0]) {
		return idiom{}
	}
	return idiom{kind: kindProcess, name: baseName(names[0])}
}

func pidof(args []string) idiom {
	var names []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-s" || a == "-c" || a == "-n" || a == "-x" || a == "-q" || a == "-z":
		case a == "-o" && i+1 < len(args):
			i++
		case strings.HasPrefix(a, "-"):
			return idiom{}
		default:
			names = append(names, a)
		}
	}
	if len(names) != 1 || !plainName.MatchString(baseName(names[0])) {
		return idiom{}
	}
	return idiom{kind: kindProcess, name: baseName(names[0])}
}

func pgrep(args []string) idiom {
	exact, full := false, false
	var pattern, pidfile string
	n := 0
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-x" || a == "--exact":
			exact = true
		case a == "-f" || a == "--full":
			full = true
		case a == "-xf" || a == "-fx":
			exact, full = true, true
		case a == "-c" || a == "--count" || a == "-l" || a == "--list-name" || a == "-a" || a == "--list-full":
		case (a == "-F" || a == "--pidfile") && i+1 < len(args):
			pidfile = args[i+1]
			i++
		case strings.HasPrefix(a, "-"):
			// -u, -P, -g and friends filter by things the plugin cannot.
			return idiom{}
		default:
			pattern = a
			n++
		}
	}
	switch {
	case n > 1:
		return idiom{}
	case n == 0 && pidfile != "":
		return idiom{kind: kindProcess, pidfile: pidfile}
	case n == 0:
		return idiom{}
	}
	id := idiom{kind: kindProcess, pidfile: pidfile}
	if full {
		if _, err := regexp.Compile(pattern); err != nil {
			return idiom{}
		}
		id.cmdline = pattern
		if exact {
			id.cmdline = "^(?:" + pattern + ")$"
		}
		id.notes = append(id.notes, "pgrep -f used an extended regular expression; cmdline is RE2 (Go), which agrees for plain patterns.")
		return id
	}
	name := strings.TrimSuffix(strings.TrimPrefix(pattern, "^"), "$")
	if !plainName.MatchString(name) {
		return idiom{}
	}
	id.name = name
	if !exact && name == pattern {
		id.notes = append(id.notes, "pgrep without -x matched any process name containing \""+name+"\"; name matches the whole name.")
	}
	return id
}

func systemctl(args []string) idiom {
	var rest []string
	for _, a := range args {
		switch a {
		case "--quiet", "-q", "--system", "--no-pager":
		default:
			rest = append(rest, a)
		}
	}
	if len(rest) != 2 || rest[0] != "is-active" {
		return idiom{}
	}
	unit := rest[1]
	if !strings.HasSuffix(unit, ".service") && strings.Contains(unit, ".") {
		return idiom{} // a socket, timer, mount... is not a process
	}
	unit = strings.TrimSuffix(unit, ".service")
	if !plainName.MatchString(unit) || strings.Contains(unit, "@") {
		return idiom{}
	}
	return unitIdiom(unit, "systemctl is-active "+rest[1])
}

func unitIdiom(unit, how string) idiom {
	return idiom{kind: kindProcess, name: unit, notes: []string{
		how + " asked systemd; the process plugin looks for a process called \"" + unit +
			"\". If the unit's main process has another name, change name (or use pidfile).",
	}}
}

// httpGet recognises curl and wget fetching one http(s) URL. expect is the
// text a following grep wanted in the body, if any.
func httpGet(tool string, args []string, expect string) idiom {
	// Options that take a value, so that the value is not read as the URL.
	withValue := map[string]bool{
		"-o": true, "--output": true, "-m": true, "--max-time": true, "--connect-timeout": true,
		"-H": true, "--header": true, "-u": true, "--user": true, "-w": true, "--write-out": true,
		"-A": true, "--user-agent": true, "-e": true, "--referer": true, "--retry": true,
		"-O": true, "--output-document": true, "-T": true, "--timeout": true, "-t": true, "--tries": true,
		"-x": true, "--proxy": true, "--interface": true, "--resolve": true, "-X": true, "--request": true,
	}
	fail := tool == "wget" // wget exits non-zero on HTTP errors by itself
	var rawURL, host string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case tool == "curl" && curlFails(a):
			fail = true
		case a == "-I" || a == "--head" || a == "-X" || a == "--request" || a == "-d" || a == "--data" || a == "--post-data":
			return idiom{} // not a plain GET
		case (a == "-H" || a == "--header") && i+1 < len(args):
			if k, v, ok := strings.Cut(args[i+1], ":"); ok && strings.EqualFold(strings.TrimSpace(k), "host") {
				host = strings.TrimSpace(v)
			}
			i++
		case withValue[a] && i+1 < len(args):
			i++
		case strings.HasPrefix(a, "-"):
		case rawURL == "":
			rawURL = a
		default:
			return idiom{} // two URLs
		}
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || u.User != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return idiom{}
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return idiom{}
	}
	id := idiom{kind: kindTCPProbe, address: net.JoinHostPort(u.Hostname(), port)}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	if u.Scheme == "https" {
		id.notes = append(id.notes, tool+" fetched "+rawURL+" over TLS; tcpprobe speaks plain HTTP only, so this check only connects to the port.")
		if expect != "" {
			id.notes = append(id.notes, "The body was grepped for \""+expect+"\"; that cannot be checked without TLS.")
		}
		return id
	}
	if strings.ContainsAny(path, " \r\n") {
		return idiom{}
	}
	id.httpPath, id.httpHost, id.expect = path, host, expect
	if !fail {
		id.notes = append(id.notes, tool+" without --fail succeeded on any HTTP status; tcpprobe wants 200 (set http.status otherwise).")
	}
	return id
}

// curlFails reports curl's --fail, alone or in a cluster of short flags
// such as -fsS.
func curlFails(a string) bool {
	if a == "--fail" || a == "--fail-with-body" {
		return true
	}
	if len(a) < 2 || a[0] != '-' || a[1] == '-' {
		return false
	}
	return strings.IndexByte(a[1:], 'f') >= 0 && strings.Trim(a[1:], "fsSLkv") == ""
}

// netcat recognises `nc -z HOST PORT`: succeed when the port accepts.
func netcat(args []string) idiom {
	zero := false
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-w" || a == "-G" || a == "-s" || a == "-p" || a == "-i":
			i++ // option with a value
		case strings.HasPrefix(a, "-w") && isDigits(a[2:]):
		case strings.HasPrefix(a, "-") && len(a) > 1:
			for _, f := range a[1:] {
				switch {
				case f == 'z':
					zero = true
				case strings.ContainsRune("vn46", f): // verbose, numeric, address family
				default:
					return idiom{} // -u (UDP) and the rest change what is tested
				}
			}
		default:
			pos = append(pos, a)
		}
	}
	if !zero || len(pos) != 2 {
		return idiom{}
	}
	if n, err := strconv.Atoi(pos[1]); err != nil || n < 1 || n > 65535 {
		return idiom{}
	}
	if strings.ContainsAny(pos[0], "/[]") {
		return idiom{}
	}
	return idiom{kind: kindTCPProbe, address: net.JoinHostPort(pos[0], pos[1])}
}

// piped recognises `ps ... | grep NAME [| grep -v grep]` and
// `curl URL | grep [-q] TEXT`.
func piped(cmds [][]string) idiom {
	head := baseName(cmds[0][0])
	var want []string
	for _, c := range cmds[1:] {
		if baseName(c[0]) != "grep" && baseName(c[0]) != "egrep" {
			return idiom{}
		}
		neg := false
		var pats []string
		for _, a := range c[1:] {
			switch {
			case a == "-v" || a == "--invert-match":
				neg = true
			case a == "-q" || a == "--quiet" || a == "-s" || a == "-w" || a == "-F" || a == "-E" || a == "-c":
			case strings.HasPrefix(a, "-"):
				return idiom{}
			default:
				pats = append(pats, a)
			}
		}
		if len(pats) != 1 {
			return idiom{}
		}
		if !neg {
			want = append(want, pats[0])
		}
	}
	if len(want) != 1 {
		return idiom{}
	}
	switch head {
	case "ps":
		pat := want[0]
		selfSafe := strings.Contains(pat, "[")
		// The "[n]ginx" trick keeps grep from matching itself.
		if m := bracketTrick.FindStringSubmatch(pat); m != nil {
			pat = m[1] + m[2] + m[3]
		}
		if !plainName.MatchString(pat) {
			return idiom{}
		}
		id := idiom{kind: kindProcess, name: pat}
		if !selfSafe && !greppedOut(cmds) {
			id.notes = append(id.notes, "The old pipeline could match its own grep and then never failed; this check cannot.")
		}
		id.notes = append(id.notes, "grep matched \""+pat+"\" anywhere in ps's output; name matches the process name exactly.")
		return id
	case "curl", "wget":
		return httpGet(head, cmds[0][1:], want[0])
	}
	return idiom{}
}

// greppedOut reports a `grep -v grep` stage.
func greppedOut(cmds [][]string) bool {
	for _, c := range cmds[1:] {
		if len(c) == 3 && c[1] == "-v" && c[2] == "grep" {
			return true
		}
	}
	return false
}

// splitBrainName reports whether a script's name or command says it is a
// split-brain guard, the one kind of script the splitbrain plugin replaces
// as a whole rather than by its mechanics.
func splitBrainName(parts ...string) bool {
	for _, p := range parts {
		s := strings.NewReplacer("_", "", "-", "", " ", "", ".", "").Replace(strings.ToLower(p))
		if strings.Contains(s, "splitbrain") || strings.Contains(s, "dualmaster") {
			return true
		}
	}
	return false
}

// peerApps finds `nc -z HOST PORT` probes anywhere in a script's text, to
// carry the probed peer application over to the split-brain guard.
func peerApps(script string) []string {
	var out []string
	for _, m := range ncProbe.FindAllStringSubmatch(script, -1) {
		if net.ParseIP(m[1]) == nil {
			continue
		}
		if n, _ := strconv.Atoi(m[2]); n < 1 || n > 65535 {
			continue
		}
		out = append(out, net.JoinHostPort(m[1], m[2]))
	}
	return out
}
