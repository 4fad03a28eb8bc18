# llm_mock.sh - sourced by the t70xx scripts after test-lib.sh: start tests/mock/llm_mock.py
# on loopback, script it, read back what it received, and write a relay.conf pointing
# every provider at it.

llm_mock_start() {
	rm -f "$TRASH/mock.port"
	daemon_start llm-mock "$PY" "$SRC/tests/mock/llm_mock.py" --port-file "$TRASH/mock.port"
	wait_for 10 'test -s "$TRASH/mock.port"' || return 1
	MOCK_PORT=$(cat "$TRASH/mock.port")
	MOCK_URL=http://127.0.0.1:$MOCK_PORT
}

# llm_mock_script 'JSON': replace the script (see llm_mock.py) and forget old requests.
llm_mock_script() {
	"$PY" - "$MOCK_URL" "$1" <<'PYEOF'
import sys, urllib.request
for path, data in (("/_script", sys.argv[2]), ("/_reset", "{}")):
    urllib.request.urlopen(urllib.request.Request(sys.argv[1] + path, data=data.encode(),
                                                  method="POST")).read()
PYEOF
}

# llm_mock_requests FILE: every request received since the last llm_mock_script.
llm_mock_requests() {
	"$PY" -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1] + "/_requests").read().decode())' "$MOCK_URL" >"$1"
}

# llm_mock_count FILE PROVIDER: how many requests went to that provider.
llm_mock_count() {
	json_get "$1" "len([r for r in d if r['provider'] == '$2'])"
}

# llm_conf [EXTRA]: relay.conf (or $LLM_CONF_FILE) with four providers on the mock and four routes; EXTRA is
# pasted inside the llm group (llm.retries, budgets, proxy...).
llm_conf() {
	cat >"${LLM_CONF_FILE:-relay.conf}" <<CONF
data_dir = "$TRASH/data";
llm = {
  $1
  providers = (
    { name = "oai"; kind = "openai"; base_url = "$MOCK_URL"; api_key = "sk-test-1";
      models = ( { name = "gpt-4o"; input_per_mtok = 2.5; output_per_mtok = 10.0; }, "o3" ); },
    { name = "claude"; kind = "anthropic"; base_url = "$MOCK_URL/v1"; api_key_env = "T_ANTHROPIC_KEY";
      models = ( { name = "claude-sonnet-4-5"; input_per_mtok = 3.0; output_per_mtok = 15.0; } ); },
    { name = "gem"; kind = "gemini"; base_url = "$MOCK_URL"; api_key = "g-key"; },
    { name = "local"; kind = "openai-compatible"; base_url = "$MOCK_URL"; vendor = "vllm"; }
  );
  routes = {
    investigate = [ "oai/gpt-4o", "claude/claude-sonnet-4-5" ];
    summarize = [ "claude/claude-sonnet-4-5" ];
    classify = [ "gem/gemini-2.5-flash" ];
    local = [ "local/qwen3" ];
    reasoner = [ "oai/o3" ];
  };
};
CONF
}

T_ANTHROPIC_KEY=ak-test-2
export T_ANTHROPIC_KEY
