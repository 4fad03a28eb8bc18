# ebpf-lib.sh - helpers for the eBPF collector tests (t10xx), sourced after test-lib.sh.
#
#   collect_bg OUT ONLY SECONDS   run `ongrid-edge collect --only ONLY` in the background
#                                 for about SECONDS, JSON into OUT; collect_wait waits.
#   sample FILE NAME [label=value ...]       print one sample's value ("" if absent);
#                                 label= (empty) requires the label to be absent or
#                                 empty, as in PromQL
#   hist_q FILE NAME Q [label=value ...]     the Q-quantile of a histogram, as the upper
#                                 bound of the bucket it falls in (seconds, bytes)
#   hist_count FILE NAME [label=value ...]   a histogram's _count

# collect_bg OUT ONLY SECONDS: two rounds SECONDS apart; the programs are attached
# before the first round, so events from ~1 s after the start until SECONDS are seen.
collect_bg() {
	"$EDGE" collect --only "$2" --interval "${3}s" --rounds 2 --ready --json >"$1" 2>"$1.err" &
	collect_pid=$!
	# Start the load only once the collectors are attached (loading BPF can take
	# seconds on a busy machine); then let the first, empty round pass.
	wait_for 30 "grep -q \"collectors\\? on, collecting\" \"$1.err\""
	sleep 0.5
}

collect_wait() {
	wait "$collect_pid"
}

ebpf_py_() {
	"$PY" - "$@" <<'PYEOF'
import json, sys
mode, path, name = sys.argv[1], sys.argv[2], sys.argv[3]
rest = sys.argv[4:]
q = None
if mode == "q":
    q, rest = float(rest[0]), rest[1:]
want = dict(a.split("=", 1) for a in rest)
d = json.load(open(path))

def match(labels):
    for k, v in want.items():
        if v == "":
            if labels.get(k, "") != "":
                return False
        elif labels.get(k) != v:
            return False
    return True

def series(n):
    return [s for s in d["samples"] if s["name"] == n and match(s["labels"])]

if mode == "v":
    s = series(name)
    print(s[0]["value"] if s else "")
elif mode == "c":
    s = series(name + "_count")
    print(int(s[0]["value"]) if s else 0)
else:
    b = [(float(s["labels"]["le"]), s["value"]) for s in series(name + "_bucket")]
    if len(set(x for x, _ in b)) != len(b):
        sys.exit("hist_q: more than one series matches; add labels")
    b.sort()
    total = b[-1][1] if b else 0
    if not total:
        print("")
        sys.exit(0)
    for le, cum in b:
        if cum >= q * total:
            print(le)
            break
PYEOF
}

sample() { f=$1 n=$2; shift 2; ebpf_py_ v "$f" "$n" "$@"; }
hist_count() { f=$1 n=$2; shift 2; ebpf_py_ c "$f" "$n" "$@"; }
hist_q() { f=$1 n=$2 q=$3; shift 3; ebpf_py_ q "$f" "$n" "$q" "$@"; }

# fcmp A OP B: compare two numeric expressions with awk, e.g. fcmp "$p99" ">=" "$idle * 2".
# An empty side is an error, not a zero.
fcmp() {
	[ -n "$1" ] && [ -n "$3" ] || { echo "fcmp: empty operand in '$1 $2 $3'" >&2; return 1; }
	awk "BEGIN { exit !(($1) $2 ($3)) }"
}

# report TEXT: keep a measured figure; report_show prints them all as TAP comments
# (test-lib keeps a passing test's output to itself).
report() { echo "$*" >>"$TRASH/report"; }
report_show() { [ -f "$TRASH/report" ] && sed 's/^/# /' "$TRASH/report"; return 0; }
