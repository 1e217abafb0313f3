package alert

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"gopkg.in/yaml.v3"
)

func TestParseSinkConfigs(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    []SinkConfig
		wantErr string
	}{
		{name: "no alerts section", yaml: "retention: 30d\n"},
		{name: "empty file", yaml: ""},
		{
			name: "every type",
			yaml: `
alerts:
  sinks:
    - type: stdout
      format: text
    - type: file
      path: /var/log/flowlens/alerts.ndjson
      min-severity: medium
    - name: soc
      type: webhook
      url: https://hooks.example.com/flowlens
      headers: {Authorization: "Bearer ${TOKEN}"}
      batch: true
      timeout: 5s
      retries: 5
      backoff: 500ms
      send-updates: true
      give-up-after: 2d
    - type: slack
      url: ${SLACK_WEBHOOK_URL}
      min-severity: high
    - type: sns
      topic: arn:aws:sns:eu-west-1:123456789012:alerts
    - type: syslog
      network: tcp
      address: siem.example.com:6514
      facility: security
      retries: -1
      give-up-after: 12h
`,
			want: []SinkConfig{
				{Type: "stdout", Format: "text"},
				{Type: "file", Path: "/var/log/flowlens/alerts.ndjson", MinSeverity: Medium},
				{Name: "soc", Type: "webhook", URL: "https://hooks.example.com/flowlens", Headers: map[string]string{"Authorization": "Bearer ${TOKEN}"},
					Batch: true, Timeout: 5 * time.Second, Retries: 5, Backoff: 500 * time.Millisecond, SendUpdates: true, GiveUpAfter: 48 * time.Hour},
				{Type: "slack", URL: "${SLACK_WEBHOOK_URL}", MinSeverity: High},
				{Type: "sns", Topic: "arn:aws:sns:eu-west-1:123456789012:alerts"},
				{Type: "syslog", Network: "tcp", Address: "siem.example.com:6514", Facility: "security", Retries: -1, GiveUpAfter: 12 * time.Hour},
			},
		},
		// Every error names the file, line and column of the key or value at
		// fault (of the sink, for a missing key) and the sink by its name.
		{name: "bad scheme", yaml: "alerts:\n  sinks:\n    - name: pager\n      type: webhook\n      url: htp://x\n",
			wantErr: `cfg.yaml:5:12: sink "pager": webhook url "htp://x": scheme must be http or https`},
		{name: "bad scheme hides the path", yaml: "alerts:\n  sinks:\n    - {type: slack, url: 'ftp://hooks.example.com/T0/secret'}\n",
			wantErr: `cfg.yaml:3:26: sink "slack": slack url "ftp://hooks.example.com/…": scheme must be http or https`},
		{name: "url without host", yaml: "alerts:\n  sinks:\n    - type: webhook\n      url: http:///hook\n",
			wantErr: `cfg.yaml:4:12: sink "webhook": webhook url "(url hidden)": no host`},
		{name: "unparsable url", yaml: "alerts:\n  sinks:\n    - type: webhook\n      url: 'http://[::1'\n",
			wantErr: `cfg.yaml:4:12: sink "webhook": webhook url "(url hidden)": not a valid URL`},
		{name: "unknown key, a typo", yaml: "alerts:\n  sinks:\n    - type: webhook\n      uri: http://x\n",
			wantErr: `cfg.yaml:4:7: sink "webhook": unknown key "uri" (did you mean url?)`},
		{name: "unknown key", yaml: "alerts:\n  sinks:\n    - type: stdout\n      colour: red\n",
			wantErr: `cfg.yaml:4:7: sink "stdout": unknown key "colour" (known: name, type, min-severity, send-updates, format, path, url, headers, batch, topic, region, endpoint, profile, network, address, facility, hostname, timeout, retries, backoff, give-up-after)`},
		{name: "repeated key", yaml: "alerts:\n  sinks:\n    - type: webhook\n      url: http://a/\n      url: http://b/\n",
			wantErr: `cfg.yaml:5:7: sink "webhook": key "url" is given twice (first on line 4)`},
		{name: "unknown type", yaml: "alerts:\n  sinks:\n    - type: pagerduty\n",
			wantErr: `cfg.yaml:3:13: sink "pagerduty": type "pagerduty" is not one of stdout, file, webhook, slack, sns, syslog`},
		{name: "no type", yaml: "alerts:\n  sinks:\n    - {type: stdout}\n    - format: text\n",
			wantErr: `cfg.yaml:4:7: alerts.sinks[1]: a sink needs a type (one of stdout, file, webhook, slack, sns, syslog)`},
		{name: "named sink without type", yaml: "alerts:\n  sinks:\n    - name: soc\n",
			wantErr: `cfg.yaml:3:7: sink "soc": a sink needs a type (one of stdout, file, webhook, slack, sns, syslog)`},
		{name: "missing url", yaml: "alerts:\n  sinks:\n    - {type: stdout}\n    - {type: slack}\n",
			wantErr: `cfg.yaml:4:7: sink "slack": a slack sink needs a url`},
		{name: "missing path", yaml: "alerts:\n  sinks:\n    - name: archive\n      type: file\n",
			wantErr: `cfg.yaml:3:7: sink "archive": a file sink needs a path`},
		{name: "bad format", yaml: "alerts:\n  sinks:\n    - type: file\n      path: a.ndjson\n      format: xml\n",
			wantErr: `cfg.yaml:5:15: sink "file": format "xml" is not one of ndjson, text`},
		{name: "bad severity", yaml: "alerts:\n  sinks:\n    - type: stdout\n      min-severity: urgent\n",
			wantErr: `cfg.yaml:4:21: sink "stdout": min-severity "urgent" is not one of critical, high, medium, low, info`},
		{name: "bad duration", yaml: "alerts:\n  sinks:\n    - type: stdout\n      timeout: soon\n",
			wantErr: `cfg.yaml:4:16: sink "stdout": timeout "soon" is not a duration such as 10s, 2m or 7d`},
		{name: "a bare number is no duration", yaml: "alerts:\n  sinks:\n    - type: stdout\n      backoff: 10\n",
			wantErr: `cfg.yaml:4:16: sink "stdout": backoff "10" is not a duration such as 10s, 2m or 7d`},
		{name: "negative duration", yaml: "alerts:\n  sinks:\n    - type: stdout\n      timeout: -5s\n",
			wantErr: `cfg.yaml:4:16: sink "stdout": timeout -5s must not be negative`},
		{name: "bad give-up-after", yaml: "alerts:\n  sinks:\n    - type: stdout\n      give-up-after: a week\n",
			wantErr: `cfg.yaml:4:22: sink "stdout": give-up-after "a week" is not a duration such as 10s, 2m or 7d`},
		{name: "bad retries", yaml: "alerts:\n  sinks:\n    - type: stdout\n      retries: many\n",
			wantErr: `cfg.yaml:4:16: sink "stdout": retries "many" is not a whole number (-1 for no retries)`},
		{name: "bad bool", yaml: "alerts:\n  sinks:\n    - type: webhook\n      url: http://h/\n      batch: sometimes\n",
			wantErr: `cfg.yaml:5:14: sink "webhook": batch "sometimes" is not true or false`},
		{name: "list for a value", yaml: "alerts:\n  sinks:\n    - type: webhook\n      url: [http://h/]\n",
			wantErr: `cfg.yaml:4:12: sink "webhook": url must be a single value, not a list`},
		{name: "empty value", yaml: "alerts:\n  sinks:\n    - type: webhook\n      url:\n",
			wantErr: `cfg.yaml:4:11: sink "webhook": url has no value`},
		{name: "headers not a mapping", yaml: "alerts:\n  sinks:\n    - type: webhook\n      url: http://h/\n      headers: [a]\n",
			wantErr: `cfg.yaml:5:16: sink "webhook": headers must be a mapping of header names to values (Authorization: Bearer …), not a list`},
		{name: "header without value", yaml: "alerts:\n  sinks:\n    - type: webhook\n      url: http://h/\n      headers:\n        Authorization:\n",
			wantErr: `cfg.yaml:6:23: sink "webhook": header Authorization must have a text value, not nothing`},
		{name: "bad header name", yaml: "alerts:\n  sinks:\n    - type: webhook\n      url: http://h/\n      headers: {'X Key': v}\n",
			wantErr: `cfg.yaml:5:17: sink "webhook": header name "X Key" is not a valid HTTP header name`},
		{name: "sinks not a list", yaml: "alerts:\n  sinks: stdout\n", wantErr: "cfg.yaml:2:10: alerts.sinks must be a list"},
		{name: "alerts not a mapping", yaml: "alerts: [x]\n", wantErr: "cfg.yaml:1:9: alerts must be a mapping"},
		{name: "sink not a mapping", yaml: "alerts:\n  sinks:\n    - stdout\n", wantErr: `cfg.yaml:3:7: alerts.sinks[0] must be a mapping (type: …, …), not "stdout"`},
		{name: "bad arn", yaml: "alerts:\n  sinks:\n    - {type: sns, topic: my-topic}\n",
			wantErr: `cfg.yaml:3:26: sink "sns": topic "my-topic" is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME) and no region is given`},
		{name: "sns without topic", yaml: "alerts:\n  sinks:\n    - {name: aws, type: sns}\n",
			wantErr: `cfg.yaml:3:7: sink "aws": an sns sink needs a topic (the topic ARN)`},
		{name: "bad network", yaml: "alerts:\n  sinks:\n    - {type: syslog, address: 'h:514', network: tls}\n",
			wantErr: `cfg.yaml:3:49: sink "syslog": network "tls" is not one of udp, tcp`},
		{name: "bad facility", yaml: "alerts:\n  sinks:\n    - {type: syslog, address: 'h:514', facility: local9}\n",
			wantErr: `cfg.yaml:3:50: sink "syslog": facility "local9" is not a syslog facility (local0…local7, auth, authpriv, security, daemon, user…)`},
		{name: "syslog address without port", yaml: "alerts:\n  sinks:\n    - name: siem\n      type: syslog\n      address: siem.example.com\n",
			wantErr: `cfg.yaml:5:16: sink "siem": address "siem.example.com" is not host:port`},
		{name: "syslog without address", yaml: "alerts:\n  sinks:\n    - name: siem\n      type: syslog\n",
			wantErr: `cfg.yaml:3:7: sink "siem": a syslog sink needs an address (host:port)`},
		{name: "not yaml", yaml: "alerts: [\n", wantErr: "read config cfg.yaml: yaml: line 1: did not find expected node content"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSinkConfigs("cfg.yaml", []byte(tt.yaml))
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("no error, want %q", tt.wantErr)
				}
				if diff := cmp.Diff(tt.wantErr, err.Error()); diff != "" {
					t.Fatalf("error (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreUnexported(SinkConfig{})); diff != "" {
				t.Errorf("configs (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSinkConfigDecode checks the path the configuration package takes:
// decoding a whole file into a struct holding []SinkConfig. It does not know
// the file's name, so errors carry the line and column, and InFile adds the
// name; a sink built from such a configuration keeps its place for the errors
// only found when it is built.
func TestSinkConfigDecode(t *testing.T) {
	var cfg struct {
		Alerts struct {
			Sinks []SinkConfig `yaml:"sinks"`
		} `yaml:"alerts"`
	}
	err := yaml.Unmarshal([]byte("alerts:\n  sinks:\n    - name: pager\n      type: webhook\n      url: htp://x\n"), &cfg)
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *ConfigError", err, err)
	}
	if got, want := err.Error(), `line 5, column 12: sink "pager": webhook url "htp://x": scheme must be http or https`; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	if got, want := InFile(err, "sinks.yaml").Error(), `sinks.yaml:5:12: sink "pager": webhook url "htp://x": scheme must be http or https`; got != want {
		t.Errorf("InFile = %q, want %q", got, want)
	}
	if err := yaml.Unmarshal([]byte("alerts:\n  sinks:\n    - name: soc\n      type: webhook\n      url: http://h/\n      headers:\n        Authorization: Bearer ${FLOWLENS_TEST_NOPE}\n"), &cfg); err != nil {
		t.Fatal(err)
	}
	_, err = NewSink(context.Background(), cfg.Alerts.Sinks[0], Env{})
	if got, want := InFile(err, "sinks.yaml").Error(), `sinks.yaml:7:24: sink "soc": header Authorization names ${FLOWLENS_TEST_NOPE}, which is not set`; err == nil || got != want {
		t.Errorf("NewSink error = %q, want %q", got, want)
	}
	// Configurations built in code have no place.
	err = (&SinkConfig{Type: SinkWebhook}).Validate()
	if got, want := err.Error(), `sink "webhook": a webhook sink needs a url`; got != want {
		t.Errorf("Validate = %q, want %q", got, want)
	}
}
