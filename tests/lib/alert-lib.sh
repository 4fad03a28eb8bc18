# alert-lib.sh - a real Prometheus and Alertmanager on loopback and the relay they post to,
# as the alert tests run them.
#
#   prom_alert_stack JOB TARGET INSTANCE HOOK TOKEN
#       With $TRASH/rules.yml written (checked here with promtool): Prometheus on $PPORT
#       scrapes JOB at TARGET (labelled instance=INSTANCE) and evaluates the rules every
#       second, alerting Alertmanager on $APORT, which groups by alertname and instance
#       (group_wait 1s), sends resolved too, and posts to HOOK with bearer TOKEN. Both are
#       stopped at exit; returns once Alertmanager is ready.
prom_alert_stack() {
	promtool check rules "$TRASH/rules.yml" >/dev/null || return 1
	cat >"$TRASH/prom.yml" <<-EOF
	global: { scrape_interval: 1s, evaluation_interval: 1s }
	rule_files: [ "$TRASH/rules.yml" ]
	alerting:
	  alertmanagers: [ { static_configs: [ { targets: [ "127.0.0.1:$APORT" ] } ] } ]
	scrape_configs:
	  - job_name: $1
	    static_configs: [ { targets: [ "$2" ], labels: { instance: "$3" } } ]
	EOF
	cat >"$TRASH/am.yml" <<-EOF
	route: { receiver: ongrid, group_by: [ alertname, instance ], group_wait: 1s, group_interval: 1s, repeat_interval: 1h }
	receivers:
	  - name: ongrid
	    webhook_configs:
	      - url: "$4"
	        send_resolved: true
	        http_config: { authorization: { credentials: "$5" } }
	EOF
	daemon_start am prometheus-alertmanager --config.file="$TRASH/am.yml" \
		--storage.path="$TRASH/am" --web.listen-address="127.0.0.1:$APORT" \
		--cluster.listen-address= &&
		daemon_start prom prometheus --config.file="$TRASH/prom.yml" \
			--storage.tsdb.path="$TRASH/prom" --web.listen-address="127.0.0.1:$PPORT" &&
		wait_for 60 "curl -sf http://127.0.0.1:$APORT/-/ready"
}

# alert_relay_conf: relay.conf gets Slack (the mock, U222 an admin, edits every 300 ms), the
# HTTP listener on $HTTP and the Alertmanager intake (bearer $TOKEN, threads in slack:C111).
alert_relay_conf() {
	cat >>"$TRASH/relay.conf" <<-EOC
	chat: {
	  users = [ "slack:U222=admin" ];
	  edit_interval = "300ms";
	  slack: { app_token = "xapp-1-A111-test"; bot_token = "xoxb-test";
	           api_base = "http://127.0.0.1:$(mock_port slack)/"; };
	};
	http: { listen = "127.0.0.1:$HTTP"; };
	alerts: { token = "$TOKEN"; channel = "slack:C111"; };
	EOC
}
