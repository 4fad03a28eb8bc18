#!/bin/sh
test_description='investigate: the thread, the requester and the alert a question comes with; the classify route; specialists hand sub-questions on, two levels deep at most'
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SRC/tests/lib/relay-lib.sh"
. "$SRC/tests/mock/llm_mock.sh"

# A thread of 20 messages (the edge keeps the latest, within its budget), a secret in one,
# a long one, and an alert whose name says "disk" though the question does not.
"$PY" - >ctx.json <<'PYEOF'
import json
turns = [{"who": "U%d" % i, "text": "message %d about the api" % i} for i in range(18)]
turns.append({"who": "alice", "text": "db url is postgres://app:hunter2secret@db:5432/pay"})
turns.append({"who": "bob", "text": "x" * 5000})
print(json.dumps({"context": turns, "follow_up": True,
                  "requester": {"platform": "slack", "user": "U42", "role": "operator"},
                  "alert": {"status": "firing",
                            "labels": {"alertname": "DiskAlmostFull", "instance": "db-1"},
                            "annotations": {"summary": "less than 5% left"},
                            "generatorURL": "http://prometheus/graph"}}))
PYEOF

dispatch() { # REPORT EXPR: EXPR over the detail of the report's dispatch step (as d)
	json_get "$1" "[e for e in d[\"timeline\"] if e[\"event\"] == \"dispatch\"][0][\"detail\"]" \
		>dispatch.json && json_get dispatch.json "$2"
}

test_expect_success 'offline: the context is checked, compacted, redacted and on the record' '
	mkdir -p data &&
	printf "name = \"t8010\";\ndata_dir = \"%s/data\";\ncontrol_socket = \"%s/edge.sock\";\n" \
		"$TRASH" "$TRASH" >edge.conf &&
	"$EDGE" investigate -c edge.conf --offline --json --context ctx.json "what is going on?" >off.json &&
	test "$(dispatch off.json "d[\"specialist\"]")" = disk &&
	test "$(dispatch off.json "d[\"classified_by\"]")" = keywords &&
	test "$(dispatch off.json "d[\"context\"][\"follow_up\"]")" = true &&
	test "$(dispatch off.json "d[\"context\"][\"requester\"][\"role\"]")" = operator &&
	test "$(dispatch off.json "d[\"context\"][\"alert\"][\"labels\"][\"alertname\"]")" = DiskAlmostFull &&
	test "$(dispatch off.json "\"generatorURL\" in d[\"context\"][\"alert\"]")" = false &&
	n=$(dispatch off.json "len(d[\"context\"][\"context\"])") &&
	o=$(dispatch off.json "d[\"context\"][\"context_omitted\"]") &&
	test $((n + o)) = 20 && test "$n" -le 12 && test "$n" -ge 2 &&
	test "$(dispatch off.json "d[\"context\"][\"context\"][-1][\"who\"]")" = bob &&
	test "$(dispatch off.json "len(d[\"context\"][\"context\"][-1][\"text\"]) <= 600")" = true &&
	! grep -q hunter2secret off.json data/timeline.db
'

test_expect_success 'a context of the wrong shape is refused, naming the field' '
	echo "{\"context\":[{\"who\":\"a\",\"text\":7}]}" >bad.json &&
	test_expect_code 2 "$EDGE" investigate -c edge.conf --offline --context bad.json "x" 2>err &&
	grep -q "^ongrid-edge investigate: --context bad.json: context\[0\].text: expected a string" err &&
	echo "{\"follow_up\":\"yes\"}" | test_expect_code 2 "$EDGE" investigate -c edge.conf --context - "x" 2>err &&
	grep -q "follow_up: expected true or false" err &&
	echo "{\"context\":" | test_expect_code 2 "$EDGE" investigate -c edge.conf --context - "x" 2>err &&
	grep -q "invalid JSON" err &&
	test_expect_code 2 "$EDGE" investigate -c edge.conf --context nosuch.json "x" 2>err &&
	grep -q "nosuch.json: No such file" err
'

test_expect_success 'the steps are written to --progress-fd as they happen' '
	"$EDGE" investigate -c edge.conf --offline --json --progress-fd 3 "is the disk full?" \
		3>progress.txt >p.json &&
	head -1 progress.txt | grep -q "^the disk specialist takes it (offline planner, classified by keywords)$" &&
	grep -q "^disk: host_probe_disk: " progress.txt &&
	test "$(sort progress.txt | uniq -d | wc -l)" = 0 &&
	test_expect_code 2 "$EDGE" investigate -c edge.conf --progress-fd 9 "x" 2>err &&
	grep -q "progress-fd: expected an open descriptor 3 to 1023, got .9." err
'

# With a model: the classify route (Gemini here) names the network specialist; the
# network specialist hands a question to disk, disk hands one to ops, and ops, at the
# depth limit, is not offered the handoff and is refused when it asks anyway.
test_expect_success PYTHON3 'a relay with a scripted classify route and investigate route' '
	llm_mock_start && relay_setup &&
	LLM_CONF_FILE=llm.part llm_conf "" &&
	sed -n "/^llm = {/,\$p" llm.part >>"$TRASH/relay.conf" &&
	key_create t8010 && relay_start &&
	edge_conf t8010 t8010 "control_socket = \"$TRASH/run/edge.sock\";" &&
	llm_mock_script "{\"rules\":[
		{\"provider\":\"gemini\",\"steps\":[{\"type\":\"text\",\"text\":\"{\\\"specialist\\\": \\\"network\\\", \\\"category\\\": \\\"network\\\"}\"}]},
		{\"provider\":\"openai\",\"steps\":[
		{\"type\":\"tool_call\",\"id\":\"h1\",\"name\":\"ask_specialist\",\"arguments\":{\"specialist\":\"disk\",\"question\":\"is a disk slow?\"}},
		{\"type\":\"tool_call\",\"id\":\"h2\",\"name\":\"ask_specialist\",\"arguments\":{\"specialist\":\"ops\",\"question\":\"did a service crash?\"}},
		{\"type\":\"tool_call\",\"id\":\"h3\",\"name\":\"ask_specialist\",\"arguments\":{\"specialist\":\"sre\",\"question\":\"and the CPU?\"}},
		{\"type\":\"text\",\"text\":\"ops: no service crashed\"},
		{\"type\":\"text\",\"text\":\"disk: no disk is slow; ops says no service crashed\"},
		{\"type\":\"text\",\"text\":\"{\\\"statement\\\":\\\"the peer drops packets\\\",\\\"category\\\":\\\"network\\\",\\\"component\\\":\\\"db-1\\\",\\\"confidence\\\":0.6}\"}]}]}"
'

test_expect_success PYTHON3 'the classify route picks the specialist' '
	"$EDGE" investigate -c t8010.conf --json --context ctx.json "why do requests to the database hang?" >llm.json &&
	test "$(dispatch llm.json "d[\"classified_by\"]")" = model &&
	test "$(dispatch llm.json "d[\"classify_model\"]")" = gem/gemini-2.5-flash &&
	test "$(dispatch llm.json "d[\"specialist\"]")" = network &&
	llm_mock_requests reqs.json &&
	json_get reqs.json "d[0][\"provider\"]" >first && echo gemini >want && test_cmp want first &&
	json_get reqs.json "d[0][\"body\"]" >classify.txt &&
	grep -q "DATA question" classify.txt && grep -q "Disk Almost Full" classify.txt
'

test_expect_success PYTHON3 'handoffs go two levels deep and no deeper' '
	json_get llm.json "[(e[\"agent\"], e[\"detail\"][\"to\"], e[\"detail\"][\"depth\"]) for e in d[\"timeline\"] if e[\"event\"] == \"handoff\"]" >handoffs &&
	echo "[[\"network\", \"disk\", 1], [\"disk\", \"ops\", 2]]" >want &&
	test_cmp want handoffs &&
	oai="[r for r in d if r[\"provider\"] == \"openai\"]" &&
	tools="[[t[\"function\"][\"name\"] for t in r[\"body\"].get(\"tools\", [])] for r in $oai]" &&
	test "$(json_get reqs.json "[\"ask_specialist\" in t for t in $tools][:3]")" = "[true, true, false]" &&
	json_get reqs.json "$oai[3][\"body\"][\"messages\"][-1]" | grep -q "handoffs stop at 2 levels" &&
	json_get reqs.json "$oai[4][\"body\"][\"messages\"][-1]" | grep -q "ops: no service crashed" &&
	json_get reqs.json "$oai[5][\"body\"][\"messages\"][-1]" | grep -q "DATA specialist_answer" &&
	test "$(json_get llm.json "d[\"root_cause\"][\"category\"]")" = network &&
	test "$(json_get llm.json "d[\"root_cause\"][\"component\"]")" = db-1
'

test_expect_success PYTHON3 'the model sees the thread and the alert fenced as data, redacted' '
	first="[r for r in d if r[\"provider\"] == \"openai\"][0][\"body\"]" &&
	json_get reqs.json "$first" >first.txt &&
	grep -q "DATA chat_thread" first.txt && grep -q "DATA alert" first.txt &&
	grep -q "follows up an earlier answer" first.txt &&
	! grep -q hunter2secret reqs.json
'

test_expect_success PYTHON3 'a classify route that answers nonsense leaves the keywords in charge' '
	llm_mock_script "{\"rules\":[{\"provider\":\"gemini\",\"steps\":[{\"type\":\"text\",\"text\":\"I think it is the network\"}]},{\"provider\":\"openai\",\"steps\":[{\"type\":\"text\",\"text\":\"no idea\"}]}]}" &&
	"$EDGE" investigate -c t8010.conf --json "is the disk full?" >kw.json &&
	test "$(dispatch kw.json "d[\"classified_by\"]")" = keywords &&
	test "$(dispatch kw.json "d[\"classify_fallback\"]")" = "the answer names no specialist" &&
	test "$(dispatch kw.json "d[\"specialist\"]")" = disk
'

test_done
