#!/bin/sh
test_description='restart_service without systemd: a configured command, proposed first, run on approval'
. "$(dirname "$0")/../lib/test-lib.sh"

export ONGRID_DATA_DIR="$TRASH/data"
[ -d /run/systemd/system ] && skip_all 'systemd is PID 1 here: this script covers hosts without it'

cat >restart.sh <<SH
#!/bin/sh
n=\$(cat "$TRASH/count" 2>/dev/null || echo 0)
echo \$((n + 1)) >"$TRASH/count"
# the restarted service: a daemon that outlives this script
sleep 300 >/dev/null 2>&1 </dev/null &
echo \$! >"$TRASH/daemon.pid"
echo "myapp restarted"
SH
chmod +x restart.sh
printf 'tools: { restart_commands = ["myapp=%s/restart.sh"]; };\n' "$TRASH" >edge.conf
at_exit 'kill $(cat "$TRASH/daemon.pid") 2>/dev/null'

test_expect_success 'restart_service is proposed, not run' '
	"$EDGE" tool restart_service "{\"unit\":\"myapp.service\"}" -c edge.conf --role admin --json >out &&
	test "$(json_get out .status)" = proposed &&
	json_get out .reason | grep -q "restart.sh" &&
	json_get out .id >id &&
	test_must_fail test -e count
'

test_expect_success 'approved, it runs the configured command once' '
	"$EDGE" approve "$(cat id)" -c edge.conf --as alice --json >out &&
	test "$(json_get out .status)" = executed &&
	test "$(json_get out .evidence.method)" = tools.restart_commands &&
	test "$(json_get out .evidence.restarted)" = true &&
	json_get out .evidence.restart.output | grep -q "myapp restarted" &&
	test "$(cat count)" = 1
'

test_expect_success 'the service it started keeps running after the tool returns' '
	sleep 0.3 &&
	kill -0 "$(cat daemon.pid)"
'

test_expect_success 'a service with no way to restart fails with the reason, exit 1' '
	"$EDGE" tool restart_service "{\"unit\":\"ongrid-no-such-svc\"}" -c edge.conf --role admin --json >out &&
	json_get out .id >id &&
	test_expect_code 1 "$EDGE" approve "$(cat id)" -c edge.conf --as alice --json >out &&
	json_get out .error | grep -q "no way to restart .ongrid-no-such-svc." &&
	test "$(cat count)" = 1
'

test_expect_success 'without a configured command, the init script in tools.init_dir is used' '
	mkdir -p init.d &&
	printf "#!/bin/sh\necho \"\$1\" >>\"%s/websvc.calls\"\necho websvc \$1 ok\n" "$TRASH" >init.d/websvc &&
	chmod +x init.d/websvc &&
	printf "tools: { init_dir = \"%s/init.d\"; };\n" "$TRASH" >initd.conf &&
	"$EDGE" tool restart_service "{\"unit\":\"websvc.service\"}" -c initd.conf --role admin --json >out &&
	json_get out .reason | grep -q "init.d/websvc restart" &&
	test_must_fail test -e websvc.calls &&
	"$EDGE" approve "$(json_get out .id)" -c initd.conf --as alice --json >out &&
	test "$(json_get out .evidence.method)" = init.d &&
	test "$(cat websvc.calls)" = restart
'

test_expect_success 'a unit name with a path or shell syntax is refused before anything' '
	test_expect_code 2 "$EDGE" tool restart_service "{\"unit\":\"../../bin/sh\"}" --role admin 2>err &&
	grep -q "args.unit" err &&
	test_expect_code 2 "$EDGE" tool restart_service "{\"unit\":\"x;reboot\"}" --role admin 2>err
'

test_done
