#!/bin/sh
test_description='investigate: a service that exits 1 and is restarted by a shell loop is a crash loop, named'
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SRC/tests/lib/agent-lib.sh"

agent_conf
# The "service": a script whose process name is its file name, failing at start like a
# daemon with a bad setting; the "supervisor" restarts it every 0.2 s.
cat >t8005-worker <<'EOS'
#!/bin/sh
echo "t8005-worker: cannot bind 0.0.0.0:8005: address in use" >&2
exit 1
EOS
chmod +x t8005-worker

# the planner's threshold for a crash loop (planner.c EXITS_FAILED)
CRASHES='sum(ongrid_process_exits_total{comm="t8005-worker",code!="0"}) >= 3'

test_expect_success BPF 'a crash loop: category service, component the worker' '
	agent_daemon 3 &&
	{ { end=$(($(date +%s) + 40)); while [ $(date +%s) -lt $end ]; do ./t8005-worker 2>/dev/null; sleep 0.2; done; } & } &&
	loop_pid=$! &&
	test_when_finished "kill $loop_pid 2>/dev/null" &&
	wait_for 30 "store_shows \"\$CRASHES\"" &&
	investigate crash.json "why does the worker service keep restarting?" &&
	report_is crash.json service "^t8005-worker\$" &&
	json_get crash.json "d[\"evidence\"][0][\"finding\"]" | grep -q "exited [0-9]* times with a failure (code/signal 1)"
'

test_done
