#!/bin/sh
test_description='the log index stays within logs.max_bytes, keeps the newest lines, and survives a reopen'
. "$(dirname "$0")/../lib/test-lib.sh"

mkdir -p logs data
cat >edge.conf <<EOF
data_dir = "$TRASH/data";
logs = { paths = ["$TRASH/logs/*.log"]; journal = false; max_bytes = "1MiB"; };
EOF

# ~300,000 lines of poorly compressible text (~25 MB raw, several MB compressed).
cat >gen.py <<'PYEOF'
import os, random
random.seed(7)
with open("logs/big.log", "w") as f:
    for i in range(300000):
        f.write("seq=%06d %s\n" % (i, os.urandom(24).hex()))
PYEOF

du_logs() { "$PY" -c 'import os,sys; print(sum(os.path.getsize(os.path.join(d,f)) for d,_,fs in os.walk(sys.argv[1]) for f in fs if f.startswith("seg-")))' "$1"; }

test_expect_success PYTHON3 'indexing far more than the budget keeps the segments within it' '
	"$PY" gen.py &&
	"$EDGE" tail -c edge.conf --once >out &&
	grep -q "^indexed 300000 lines" out &&
	test "$(du_logs data/logs)" -le 2097152
'

test_expect_success PYTHON3 'the newest lines are kept and the oldest dropped' '
	"$EDGE" logs -c edge.conf "{file=~\".*big.log\"} |= \"seq=299999 \"" --json >new.json &&
	test "$(json_get new.json "len(d[\"result\"])")" = 1 &&
	"$EDGE" logs -c edge.conf "{file=~\".*big.log\"} |= \"seq=000000 \"" --json >old.json &&
	test "$(json_get old.json "len(d[\"result\"])")" = 0 &&
	"$EDGE" logs -c edge.conf "sum(count_over_time({file=~\".*big.log\"}[1h]))" --json >n.json &&
	n=$(json_get n.json "d[\"result\"][0][\"value\"][1]") &&
	test "$n" -gt 10000 && test "$n" -lt 300000
'

test_expect_success PYTHON3 'more lines after a reopen still respect the budget' '
	"$PY" -c "
import os
with open(\"logs/big.log\", \"a\") as f:
    for i in range(300000, 400000):
        f.write(\"seq=%06d %s\n\" % (i, os.urandom(24).hex()))
" &&
	"$EDGE" tail -c edge.conf --once >out &&
	grep -q "^indexed 100000 lines" out &&
	test "$(du_logs data/logs)" -le 2097152 &&
	"$EDGE" logs -c edge.conf "{file=~\".*big.log\"} |= \"seq=399999 \"" --json >new.json &&
	test "$(json_get new.json "len(d[\"result\"])")" = 1
'

test_done
