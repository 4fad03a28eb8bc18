#!/bin/sh
test_description='investigate: an error-log spike right after a config file change points at the changed file'
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SRC/tests/lib/agent-lib.sh"

mkdir -p etc/app
: >dpkg.log
: >history.log
: >auth.log
agent_conf "changes = { watch = [\"$TRASH/etc\"]; bin_dirs = [\"$TRASH/bin\"]; dpkg_log = \"$TRASH/dpkg.log\";
            apt_log = \"$TRASH/history.log\"; auth_log = \"$TRASH/auth.log\"; wtmp = \"\"; };
logs = { journal = false; };"
# agent_conf wrote a logs group already; the second one must replace it, not repeat it
"$PY" - edge.conf <<'PYEOF'
import re, sys
p = sys.argv[1]
s = open(p).read()
s = s.replace('logs = { journal = false; };', '')
s = re.sub(r'logs = \{ paths = (\[[^]]*\]); \};', r'logs = { paths = \1; journal = false; };', s)
open(p, "w").write(s)
PYEOF

# indexed TEXT: the daemon's log index has a pattern containing TEXT.
indexed() {
	"$EDGE" tool -c edge.conf log_patterns "{\"mode\":\"top\",\"minutes\":5}" --json | grep -q "$1"
}

test_expect_success 'a service that logs normally' '
	agent_daemon 3 &&
	for i in 1 2 3 4 5; do echo "$(date -Is) INFO request served in 12 ms" >>logs/app.log; done &&
	echo "upstream = 10.0.0.7:5432" >etc/app/app.conf &&
	wait_for 20 "indexed \"request served\"" &&
	sleep 2
'

test_expect_success 'the upstream is changed, then errors: category config, component the file' '
	echo "upstream = 10.0.0.8:5432" >etc/app/app.conf &&
	sleep 2 &&
	for i in $(seq 1 60); do
		echo "$(date -Is) ERROR upstream 10.0.0.8:5432 connection refused (request $i)" >>logs/app.log
	done &&
	wait_for 20 "indexed \"connection refused\"" &&
	investigate cfg.json "why is the app failing since a few minutes?" &&
	report_is cfg.json config "^$TRASH/etc/app/app.conf\$" &&
	json_get cfg.json "d[\"evidence\"][1][\"finding\"]" | grep -q "log errors spiked"
'

test_done
