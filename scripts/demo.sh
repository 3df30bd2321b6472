#!/usr/bin/env bash
# hawatch live demo (`make demo`, as root).
#
# Builds a throw-away lab out of network namespaces -- a bridge, two load
# balancers lb1 and lb2 running nginx, and a client -- starts hawatch on both
# nodes, then kills nginx on the master while the client requests the VIP
# every 10 ms, and prints the interruption the client saw. nginx comes back,
# and so does the VIP. Everything the demo creates (processes, namespaces,
# files) is removed on exit, also on Ctrl-C or failure. It never touches the
# host's interfaces: all addresses live inside the demo's own namespaces.
#
# The binaries come from bin/ (`make demo` runs `make build` first), or from
# $HAWATCH_BIN (the e2e test points it at the binaries it built).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${HAWATCH_BIN:-$ROOT/bin}
VIP=198.51.100.50
PREFIX="hwdemo$$"      # every namespace name starts with this
NS_BR="$PREFIX-br"
NS_LB1="$PREFIX-lb1"
NS_LB2="$PREFIX-lb2"
NS_CLIENT="$PREFIX-client"

PIDS=()     # every background process this script started
NSS=()      # every namespace this script created
WORK=""

if [[ -t 1 ]]; then B=$'\e[1m' G=$'\e[32m' Y=$'\e[33m' R=$'\e[31m' N=$'\e[0m'; else B="" G="" Y="" R="" N=""; fi
say()  { printf '\n%s==> %s%s\n' "$B" "$*" "$N"; }
info() { printf '    %s\n' "$*"; }
die()  { printf '%sdemo: %s%s\n' "$R" "$*" "$N" >&2; exit 1; }

cleaned=0
cleanup() {
	local rc=${1:-$?}
	[[ $cleaned == 1 ]] && return
	cleaned=1
	trap - EXIT INT TERM
	set +e
	if [[ $rc != 0 && -n $WORK ]]; then
		for n in lb1 lb2; do
			[[ -f $WORK/$n/hawatch.log ]] || continue
			printf '\n--- last lines of hawatch on %s ---\n' "$n" >&2
			tail -n 15 "$WORK/$n/hawatch.log" >&2
		done
	fi
	say "cleaning up"
	# SIGTERM first: hawatch resigns (priority 0), stops its plugins and
	# releases the VIP; nginx and the client loop just stop.
	local pid alive
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	for _ in $(seq 50); do
		alive=0
		for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
		[[ $alive == 0 ]] && break
		sleep 0.1
	done
	for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
	wait 2>/dev/null
	local ns
	for ns in "${NSS[@]}"; do
		# Anything still inside (nginx workers, a curl) would keep the
		# namespace alive after `ip netns del`.
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
	[[ -n $WORK ]] && rm -rf "$WORK"
	info "removed namespaces ${NSS[*]:-none}, processes ${PIDS[*]:-none} and the work directory"
	exit "$rc"
}
trap cleanup EXIT
trap 'cleanup 130' INT
trap 'cleanup 143' TERM

now() { printf '%s' "$EPOCHREALTIME"; }

# wait_until DESCRIPTION TIMEOUT_SECONDS COMMAND...: polls every 20 ms.
wait_until() {
	local what=$1 timeout=$2
	shift 2
	local deadline
	deadline=$(awk -v t="$(now)" -v d="$timeout" 'BEGIN { printf "%.6f", t + d }')
	until "$@"; do
		if awk -v t="$(now)" -v d="$deadline" 'BEGIN { exit !(t > d) }'; then
			die "timed out after ${timeout}s waiting for: $what"
		fi
		sleep 0.02
	done
}

has_vip() { ip -n "$1" -4 -o addr show dev eth0 | grep -q " $VIP/"; }
lacks_vip() { ! has_vip "$1"; }
answers() { ip netns exec "$1" curl -s -o /dev/null -m 1 "http://$2/"; }
state_of() { "$BIN/hawatch" status --json --socket "$WORK/$1/run/hawatch.sock" 2>/dev/null | grep -o '"state":"[A-Z]*"' | head -n1 | cut -d'"' -f4; }
in_state() { [[ $(state_of "$1") == "$2" ]]; }
where_vip() {
	local n
	for n in lb1 lb2; do
		local ns=$NS_LB1
		[[ $n == lb2 ]] && ns=$NS_LB2
		if has_vip "$ns"; then info "VIP $VIP/24 is on $n ($(ip -n "$ns" -4 -o addr show dev eth0 | awk '{print $4}' | paste -sd' '))"; fi
	done
}

# --- preflight -------------------------------------------------------------
[[ $EUID == 0 ]] || die "needs root (it creates network namespaces); try: sudo make demo"
for tool in ip nginx curl awk; do
	command -v "$tool" >/dev/null || die "$tool not found (Debian: apt-get install iproute2 nginx-light curl gawk)"
done
for b in hawatch hawatch-process; do
	[[ -x $BIN/$b ]] || die "$BIN/$b missing: run 'make build' (or 'make demo', which builds first)"
done
(( BASH_VERSINFO[0] >= 5 )) || die "needs bash 5 (EPOCHREALTIME)"

WORK=$(mktemp -d /tmp/hawatch-demo.XXXXXX)
# The process plugin runs as nobody and must read nginx's pid file.
chmod 0755 "$WORK"
START=$(now)

# --- the lab ------------------------------------------------------------------
say "creating the lab (namespaces $PREFIX-*)"
for ns in "$NS_BR" "$NS_LB1" "$NS_LB2" "$NS_CLIENT"; do
	ip netns add "$ns"
	NSS+=("$ns")
done
ip -n "$NS_BR" link set lo up
ip -n "$NS_BR" link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
ip -n "$NS_BR" link set br0 up
plug() { # plug NS ADDRESS MAC PORT
	ip -n "$NS_BR" link add "$4" type veth peer name eth0 netns "$1"
	ip -n "$NS_BR" link set "$4" master br0 up
	ip -n "$1" link set lo up
	ip -n "$1" link set eth0 address "$3"
	ip -n "$1" addr add "$2/24" dev eth0
	ip -n "$1" link set eth0 up
}
plug "$NS_LB1" 198.51.100.11 02:00:00:00:00:11 "d$$-1"
plug "$NS_LB2" 198.51.100.12 02:00:00:00:00:12 "d$$-2"
plug "$NS_CLIENT" 198.51.100.100 02:00:00:00:00:64 "d$$-c"
info "bridge br0 in $NS_BR (multicast snooping off, so VRRP multicast floods like on a plain switch)"
info "lb1 198.51.100.11   lb2 198.51.100.12   client 198.51.100.100   VIP $VIP"

# --- nginx ------------------------------------------------------------------
start_nginx() { # start_nginx NODE NS
	local dir=$WORK/$1/nginx
	mkdir -p "$dir/logs" "$dir/tmp"
	if [[ ! -f $dir/nginx.conf ]]; then
		cat >"$dir/nginx.conf" <<-EOF
			daemon off;
			master_process on;
			worker_processes 1;
			pid $dir/nginx.pid;
			error_log $dir/logs/error.log;
			events { worker_connections 128; }
			http {
			    access_log off;
			    client_body_temp_path $dir/tmp/body;
			    proxy_temp_path $dir/tmp/proxy;
			    fastcgi_temp_path $dir/tmp/fastcgi;
			    uwsgi_temp_path $dir/tmp/uwsgi;
			    scgi_temp_path $dir/tmp/scgi;
			    server {
			        listen 80;
			        location / {
			            default_type text/plain;
			            return 200 "hello from $1\n";
			        }
			    }
			}
		EOF
	fi
	ip netns exec "$2" nginx -p "$dir" -e "$dir/logs/error.log" -c "$dir/nginx.conf" >>"$dir/logs/stdout.log" 2>&1 &
	PIDS+=($!)
}
say "starting nginx on lb1 and lb2"
mkdir -p "$WORK/lb1" "$WORK/lb2"
start_nginx lb1 "$NS_LB1"
start_nginx lb2 "$NS_LB2"
wait_until "nginx on lb1" 10 answers "$NS_LB1" 198.51.100.11
wait_until "nginx on lb2" 10 answers "$NS_LB2" 198.51.100.12
info "lb1: $(ip netns exec "$NS_LB1" curl -s http://198.51.100.11/)   lb2: $(ip netns exec "$NS_LB2" curl -s http://198.51.100.12/)"

# --- hawatch ------------------------------------------------------------------
write_config() { # write_config NODE PRIORITY
	local dir=$WORK/$1
	cat >"$dir/hawatch.hcl" <<-EOF
		# $1 of the demo, modelled on examples/$1.hcl: VRRPv2 with PASS auth and
		# 1 s adverts, like the keepalived setup it replaces, so the takeover
		# times below are keepalived's (Skew_Time, Master_Down_Interval).
		node {
		  name           = "$1"
		  control_socket = "$dir/run/hawatch.sock" # its directory becomes 0750
		  state_dir      = "$dir/state"
		  plugin_dir     = "$BIN"
		  metrics_listen = "127.0.0.1:9712"
		  log_level      = "info"
		  log_format     = "json"
		}

		plugin "process" {
		  command = "hawatch-process"
		  user    = "nobody" # only reads /proc and the pid file
		}

		# Replaces check_nginx.sh: nginx's death is seen at once (pidfd), not
		# at the next poll.
		check "nginx" {
		  plugin = "process"
		  config {
		    pidfile = "$dir/nginx/nginx.pid"
		  }
		}

		vrrp_instance "VI_1" {
		  interface         = "eth0"
		  virtual_router_id = 51
		  priority          = $2
		  version           = 2
		  advert_interval   = "1s"
		  auth_pass         = "1111"
		  virtual_ips       = ["$VIP/24"]
		  preempt           = true

		  track "nginx" {} # nginx gone: FAULT, priority 0, the VIP moves
		}
	EOF
}
start_hawatch() { # start_hawatch NODE NS
	ip netns exec "$2" "$BIN/hawatch" run --config "$WORK/$1/hawatch.hcl" >>"$WORK/$1/hawatch.log" 2>&1 &
	PIDS+=($!)
}
say "starting hawatch on lb2 (priority 50) and lb1 (priority 100)"
write_config lb1 100
write_config lb2 50
"$BIN/hawatch" validate --plugin-dir "$BIN" "$WORK/lb1/hawatch.hcl" "$WORK/lb2/hawatch.hcl" | sed 's/^/    /'
start_hawatch lb2 "$NS_LB2"
wait_until "lb2 BACKUP" 10 in_state lb2 BACKUP
start_hawatch lb1 "$NS_LB1"
info "waiting for lb1 to win the election (Master_Down_Interval, about 3.6 s at 1 s adverts)"
wait_until "lb1 holds the VIP" 15 has_vip "$NS_LB1"
wait_until "lb1 MASTER" 5 in_state lb1 MASTER
wait_until "lb2 BACKUP" 5 in_state lb2 BACKUP
wait_until "the client reaches the VIP" 5 answers "$NS_CLIENT" "$VIP"
where_vip

say "hawatch status on lb1"
"$BIN/hawatch" status --socket "$WORK/lb1/run/hawatch.sock" | sed 's/^/    /'
say "hawatch status on lb2"
"$BIN/hawatch" status --socket "$WORK/lb2/run/hawatch.sock" | sed 's/^/    /'

# --- the client ---------------------------------------------------------------
# Each line: timestamp, ok|fail, who answered. A request that gets no answer
# gives up after 200 ms, which bounds the measurement's resolution.
say "client: HTTP requests to $VIP back to back, 10 ms apart"
CLIENT_LOG=$WORK/client.log
# shellcheck disable=SC2016 # expanded by the inner bash
ip netns exec "$NS_CLIENT" bash -c '
	log=$1 url=$2
	while :; do
		t=$EPOCHREALTIME
		if body=$(curl -s -m 0.2 "$url"); then
			echo "$t ok ${body##* }"
		else
			echo "$t fail -"
		fi >>"$log"
		sleep 0.01
	done' demo-client "$CLIENT_LOG" "http://$VIP/" &
PIDS+=($!)
wait_until "client answers from lb1" 5 grep -qs " ok lb1" "$CLIENT_LOG"
sleep 1

# --- failover -----------------------------------------------------------------
NGINX_PID=$(cat "$WORK/lb1/nginx/nginx.pid")
say "killing nginx on the master lb1 (kill $NGINX_PID, from its pid file)"
KILL_AT=$(now)
kill "$NGINX_PID"
wait_until "the VIP on lb2" 10 has_vip "$NS_LB2"
MOVED_AT=$(now)
wait_until "lb1 without the VIP" 5 lacks_vip "$NS_LB1"
info "VIP moved to lb2 $(awk -v a="$KILL_AT" -v b="$MOVED_AT" 'BEGIN { printf "%.0f", (b - a) * 1000 }') ms after the kill"
where_vip
wait_until "client answers from lb2" 10 grep -qs " ok lb2" "$CLIENT_LOG"

# The interruption the client saw: its last answer before the kill's first
# failed request, to its first answer after it.
gap() { # gap FROM_TIME -> "last_ok first_ok_after fails"
	awk -v from="$1" '
		$1 < from { if ($2 == "ok") last = $1; next }
		$2 == "fail" && !failed { failed = 1 }
		$2 == "fail" { fails++; next }
		$2 == "ok" && failed { print last, $1, fails; exit }
		$2 == "ok" { last = $1 }
	' "$CLIENT_LOG"
}
read -r LAST_OK FIRST_OK FAILS <<<"$(gap "$KILL_AT")"
[[ -n ${FIRST_OK:-} ]] || die "no failed request recorded around the kill (client log: $CLIENT_LOG)"
FAILOVER_MS=$(awk -v a="$LAST_OK" -v b="$FIRST_OK" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
printf '    %sclient-visible interruption: %s ms%s (last answer from lb1 -> first answer from lb2, %s failed requests)\n' "$G" "$FAILOVER_MS" "$N" "$FAILS"
info "the process check saw nginx die at once; lb1 went FAULT and advertised priority 0,"
info "so lb2 took over after Skew_Time ((256-50)/256 s = 0.80 s) instead of Master_Down_Interval (3.8 s)"

say "hawatch status on lb1 (nginx down)"
"$BIN/hawatch" status --socket "$WORK/lb1/run/hawatch.sock" | sed 's/^/    /'
say "hawatch status on lb2"
"$BIN/hawatch" status --socket "$WORK/lb2/run/hawatch.sock" | sed 's/^/    /'

# --- recovery -----------------------------------------------------------------
say "restarting nginx on lb1"
RESTART_AT=$(now)
start_nginx lb1 "$NS_LB1"
wait_until "nginx on lb1" 10 answers "$NS_LB1" 198.51.100.11
info "lb1 is healthy again; with the higher priority and preempt it takes the VIP back"
info "after Master_Down_Interval (about 3.6 s)"
wait_until "the VIP back on lb1" 15 has_vip "$NS_LB1"
BACK_AT=$(now)
wait_until "lb2 without the VIP" 5 lacks_vip "$NS_LB2"
wait_until "client answers from lb1 again" 10 awk -v from="$RESTART_AT" '$1 > from && $3 == "lb1" { found = 1; exit } END { exit !found }' "$CLIENT_LOG"
where_vip
read -r LAST_OK2 FIRST_OK2 FAILS2 <<<"$(gap "$RESTART_AT")"
PREEMPT_MS="0"
if [[ -n ${FIRST_OK2:-} ]]; then
	PREEMPT_MS=$(awk -v a="$LAST_OK2" -v b="$FIRST_OK2" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
fi
info "VIP back on lb1 $(awk -v a="$RESTART_AT" -v b="$BACK_AT" 'BEGIN { printf "%.1f", b - a }') s after nginx restarted; client-visible interruption during the planned move: ${PREEMPT_MS} ms (${FAILS2:-0} failed requests)"

# --- summary ----------------------------------------------------------------
say "summary"
TOTAL=$(awk 'END { print NR }' "$CLIENT_LOG")
OKS=$(awk '$2 == "ok" { n++ } END { print n + 0 }' "$CLIENT_LOG")
info "client requests: $TOTAL, answered: $OKS"
info "nginx killed on lb1 -> clients answered by lb2 after ${FAILOVER_MS} ms"
info "nginx back on lb1   -> VIP returned to lb1 (preempt), interruption ${PREEMPT_MS} ms"
info "demo took $(awk -v a="$START" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }') s"
