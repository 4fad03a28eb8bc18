# drill-lib.sh - three hosts on one machine for the end-to-end drill (t99xx); source after
# test-lib.sh and relay-lib.sh.
#
#   drill_net                 network namespaces $NS_web $NS_api $NS_db on a bridge in the
#                             root namespace: root 10.209.0.1, web .2, api .3, db .4 (/24);
#                             each host also gets a pid namespace (its init's pid in
#                             $TRASH/HOST.init) so its edge sees only its own processes
#   host_enter HOST           the nsenter prefix that runs a command inside HOST
#   in_host HOST CMD...       run CMD inside HOST
#   drill_services            the small real service of each host (tests/lib/drill_svc.py
#                             copied to web-svc, api-svc, db-svc so each has its own
#                             command name): web asks api every 0.2 s over one kept
#                             connection, api asks db; web serves its request and error
#                             counters on 10.209.0.2:9100/metrics. db-svc runs under a
#                             restart loop and fails at start while $TRASH/db-broken exists;
#                             it writes a record per answer into $TRASH/db-data
#   drill_edge HOST COLLECT [LINES]
#                             HOST's edge: the daemon (`run`, COLLECT added to its collect
#                             group) and the tunnel (`connect`, which sends the relay HOST's
#                             connections at connect and every relay.topology_interval, 2 s
#                             here) in its namespace; $TRASH/HOST.topo.json is what
#                             `ongrid-edge topology` saw then
#   drill_listens HOST PORT   something accepts connections on HOST's address and PORT
#   host_ip HOST              its address

DRILL_S=$$
NS_web=ongrid-dw-$DRILL_S
NS_api=ongrid-da-$DRILL_S
NS_db=ongrid-dd-$DRILL_S
DRILL_BR=ogdbr$DRILL_S

host_ip() {
	case "$1" in
	web) echo 10.209.0.2 ;;
	api) echo 10.209.0.3 ;;
	db) echo 10.209.0.4 ;;
	esac
}

host_ns() {
	eval "echo \$NS_$1"
}

host_enter() { # HOST: the command prefix that runs inside HOST (its pid, mount and net ns)
	echo "nsenter --target $(cat "$TRASH/$1.init") --pid --mount --net --"
}

in_host() {
	h=$1
	shift
	$(host_enter "$h") "$@"
}

drill_net() {
	at_exit "ip link del $DRILL_BR 2>/dev/null; ip netns del $NS_web; ip netns del $NS_api; ip netns del $NS_db"
	ip link add "$DRILL_BR" type bridge || return 1
	ip addr add 10.209.0.1/24 dev "$DRILL_BR" && ip link set "$DRILL_BR" up || return 1
	i=0
	for h in web api db; do
		i=$((i + 1))
		ns=$(host_ns $h)
		ip netns add "$ns" && ip -n "$ns" link set lo up &&
			ip link add "og$h$DRILL_S" type veth peer name eth0 netns "$ns" &&
			ip link set "og$h$DRILL_S" master "$DRILL_BR" &&
			ip link set "og$h$DRILL_S" up &&
			ip -n "$ns" addr add "$(host_ip $h)/24" dev eth0 &&
			ip -n "$ns" link set eth0 up || return 1
		# its own process table: the edge lists and names only this host's processes
		ip netns exec "$ns" unshare --pid --fork --mount-proc sleep 100000 &
		init_parent=$!
		wait_for 5 "test -n \"\$(cat /proc/$init_parent/task/$init_parent/children)\"" || return 1
		init=$(tr -d " " </proc/$init_parent/task/$init_parent/children)
		echo "$init" >"$TRASH/$h.init"
		# pid 1 of a pid namespace takes every process in it along when it dies
		at_exit "kill -9 $init 2>/dev/null; kill -9 $init_parent 2>/dev/null"
	done
}

drill_services() {
	for h in web api db; do cp "$PY" "$TRASH/$h-svc" || return 1; done
	cat >"$TRASH/db-loop.sh" <<-EOS
	#!/bin/sh
	# db's supervisor: restarts db-svc 0.1 s after it ends, like systemd's Restart=always
	while :; do "$TRASH/db-svc" "$SRC/tests/lib/drill_svc.py" db $(host_ip db) 5432 "$TRASH/db-broken"; sleep 0.1; done
	EOS
	rm -f "$TRASH/db-svc.pid"
	mkdir -p "$TRASH/db-data"
	daemon_start svc-db $(host_enter db) sh "$TRASH/db-loop.sh" &&
		wait_for 10 "test -s $TRASH/db-svc.pid && drill_listens db 5432" &&
		daemon_start svc-api $(host_enter api) "$TRASH/api-svc" "$SRC/tests/lib/drill_svc.py" \
			api "$(host_ip api)" 8080 "$(host_ip db):5432" &&
		wait_for 10 "drill_listens api 8080" &&
		daemon_start svc-web $(host_enter web) "$TRASH/web-svc" "$SRC/tests/lib/drill_svc.py" \
			web "$(host_ip web)" 9100 "$(host_ip api):8080" &&
		wait_for 20 "curl -sf http://$(host_ip web):9100/metrics | grep -q '^drill_requests_total [1-9]'"
}

drill_listens() { # HOST PORT: something accepts connections there
	"$PY" -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 1).close()' \
		"$(host_ip "$1")" "$2"
}

drill_edge() {
	h=$1
	collect_extra=$2
	shift 2
	edge_conf "$h" "$h" "control_socket = \"$TRASH/run/$h.sock\";
collect: { interval = \"1s\"; $collect_extra };
metrics: { enabled = false; };
$*" || return 1
	mkdir -p "$TRASH/run"
	daemon_start "daemon-$h" $(host_enter "$h") "$EDGE" run -c "$TRASH/$h.conf" &&
		wait_for 20 "test -S $TRASH/run/$h.sock" &&
		in_host "$h" "$EDGE" topology --json >"$TRASH/$h.topo.json" &&
		EDGE_WRAP="$(host_enter "$h")" edge_start "$h"
}
