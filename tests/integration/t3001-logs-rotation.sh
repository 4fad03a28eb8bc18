#!/bin/sh
test_description='log tailing: rename and copytruncate rotation, truncation, restarts (SIGTERM and kill -9) and rotation while the edge is down lose no line and read none twice'
. "$(dirname "$0")/../lib/test-lib.sh"

# The writer drives the whole scenario so that every step happens at a known point:
# blocks of lines written as fast as Python can, then one event (a rotation, a restart
# of `ongrid-edge tail`, or a rotation while it is down). Every line carries a sequence
# number; the assertion is that each number is in the index exactly once.
#
# copytruncate's inherent race: lines a writer appends between logrotate's copy and its
# truncate are in neither file, so no tailer can read them. This writer does the copy
# and the truncate itself with no write in between, so every line is provably readable
# and the count must be exact. (With logrotate and a separate writer, that window can
# lose lines; docs/internals/logs.md says so.) The same holds for a file that is created,
# written and copytruncated between two polls of the tailer: it never saw the file's
# first bytes, so nothing ties the copy to it. So each block starts with one line and a
# pause of a few poll intervals before the rest comes at full speed.
cat >writer.py <<'PYEOF'
import os, shutil, signal, subprocess, sys, time

edge, conf, logdir = sys.argv[1], sys.argv[2], sys.argv[3]
app = os.path.join(logdir, "app.log")
seq = 0
rot = 0
proc = None

def start():
    global proc
    proc = subprocess.Popen([edge, "tail", "-c", conf, "--interval", "100ms"],
                            stdout=open("tail.out", "a"), stderr=open("tail.err", "a"))
    time.sleep(0.3)

def stop(sig):
    proc.send_signal(sig)
    rc = proc.wait(timeout=20)
    if sig == signal.SIGTERM and rc != 0:
        sys.exit("tail exited %d after SIGTERM" % rc)

f = open(app, "ab")

def line(n):
    if n % 997 == 0:   # far over logs.max_line: cut and marked, still counted
        return b"seq=%08d long " % n + b"x" * 40000 + b"\n"
    if n % 1009 == 0:  # invalid UTF-8, NUL, control bytes
        return b"seq=%08d bin \xff\xfe\x00\x01 \xc3\x28 end\n" % n
    return b"seq=%08d ERROR read tcp 10.0.%d.%d:%d->10.0.0.7:5432: read: connection reset by peer\n" % (
        n, n % 7, n % 250, 30000 + n % 20000)

def block(count):
    global seq
    buf = []
    for _ in range(count):
        buf.append(line(seq))
        seq += 1
        if len(buf) == 200:
            f.write(b"".join(buf)); f.flush(); buf = []
    f.write(b"".join(buf)); f.flush()

def partial():
    # half a line, a pause longer than the poll interval, then the rest
    global seq
    f.write(b"seq=%08d split across " % seq); f.flush()
    time.sleep(0.35)
    f.write(b"two writes\n"); f.flush()
    seq += 1

def rename():
    global f, rot
    rot += 1
    f.close()
    os.rename(app, "%s.%d" % (app, rot))
    f = open(app, "ab")

def copytruncate():
    global rot
    rot += 1
    f.flush()
    shutil.copyfile(app, "%s.%d" % (app, rot))
    os.truncate(app, 0)   # f is O_APPEND: the next write lands at 0

start()
for ev in ["rename", "partial", "copytruncate", "term", "rename", "kill9", "copytruncate",
           "down-rename", "partial", "down-copytruncate", "kill9", "rename", "copytruncate",
           "none"]:
    block(1)
    time.sleep(0.3)
    block(3999)
    if ev == "rename":
        rename()
    elif ev == "copytruncate":
        copytruncate()
    elif ev == "partial":
        partial()
    elif ev == "term":
        stop(signal.SIGTERM); block(1000); start()
    elif ev == "kill9":
        stop(signal.SIGKILL); block(1000); start()
    elif ev == "down-rename":
        stop(signal.SIGKILL); block(1500); rename(); block(1500); start()
    elif ev == "down-copytruncate":
        stop(signal.SIGTERM); block(1500); copytruncate(); block(1500); start()
    time.sleep(0.6)  # let the tailer see each rotation before the next one
block(3000)
time.sleep(1.0)
stop(signal.SIGTERM)
f.close()
open("written", "w").write("%d\n" % seq)
PYEOF

cat >check.py <<'PYEOF'
import json, re, sys
d = json.load(open(sys.argv[1]))
n = int(open("written").read())
seen = {}
marked = 0
for e in d["result"]:
    m = re.match(r"seq=(\d{8}) ", e["line"])
    if not m:
        sys.exit("line without a sequence number: %r" % e["line"][:80])
    k = int(m.group(1))
    seen[k] = seen.get(k, 0) + 1
    if e["line"].endswith("\u2026[truncated]"):
        marked += 1
dups = [k for k, c in seen.items() if c > 1]
lost = [k for k in range(n) if k not in seen]
print("written %d, indexed %d, distinct %d, duplicates %d, lost %d, truncated %d" % (
    n, len(d["result"]), len(seen), len(dups), len(lost), marked))
if dups: print("first duplicates:", dups[:10])
if lost: print("first lost:", lost[:10])
want_marked = len([k for k in range(n) if k % 997 == 0])
sys.exit(0 if not dups and not lost and len(d["result"]) == n and marked == want_marked else 1)
PYEOF

mkdir -p logs data
cat >edge.conf <<EOF
name = "t3001";
data_dir = "$TRASH/data";
logs = { paths = ["$TRASH/logs/app.log"]; journal = false; max_line = "4KiB"; };
EOF

test_expect_success PYTHON3 'writer with rotations, restarts and rotation while down runs to the end' '
	"$PY" writer.py "$EDGE" edge.conf "$TRASH/logs" &&
	test -s written
'

test_expect_success PYTHON3 'a final one-shot tail reads what is left' '
	"$EDGE" tail -c edge.conf --once >once.out &&
	grep -q "^indexed" once.out
'

test_expect_success PYTHON3 'every line is indexed exactly once' '
	"$EDGE" logs -c edge.conf "{file=~\".*app.*\"}" --since 1h --limit 1000000 --json >all.json &&
	"$PY" check.py all.json
'

test_expect_success PYTHON3 'count_over_time agrees with the number of lines written' '
	"$EDGE" logs -c edge.conf "sum(count_over_time({file=~\".*app.*\"}[1h]))" --json >count.json &&
	test "$(json_get count.json "d[\"result\"][0][\"value\"][1]")" = "$(cat written)"
'

test_expect_success PYTHON3 'the line split across two writes is whole' '
	"$EDGE" logs -c edge.conf "{file=~\".*app.*\"} |= \"split across two writes\"" --json >split.json &&
	test "$(json_get split.json "len(d[\"result\"])")" = 2
'

test_expect_success PYTHON3 'binary garbage is stored as valid UTF-8 with replacement characters' '
	"$EDGE" logs -c edge.conf "{file=~\".*app.*\"} |= \" bin \"" --json --limit 1 >bin.json &&
	json_get bin.json "d[\"result\"][0][\"line\"]" >bin.txt &&
	grep -q "bin \(.*\) end" bin.txt && grep -q "$(printf "\357\277\275")" bin.txt
'

test_expect_success PYTHON3 'a second tail --once over an unchanged tree adds nothing' '
	"$EDGE" tail -c edge.conf --once >again.out &&
	grep -q "^indexed 0 lines" again.out
'

test_expect_success 'a second writer on the same index is refused' '
	"$EDGE" tail -c edge.conf --interval 100ms >/dev/null 2>&1 &
	pid=$! &&
	sleep 0.5 &&
	test_expect_code 1 "$EDGE" tail -c edge.conf --once 2>err;
	rc=$?; kill $pid; wait $pid; test $rc = 0 &&
	grep -q "another ongrid process is indexing logs" err
'

test_done
