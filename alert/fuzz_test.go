package alert

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzParseSinkConfigs feeds arbitrary YAML to the sink configuration loader:
// it must never panic, every error must name the file, and every accepted
// configuration must validate.
func FuzzParseSinkConfigs(f *testing.F) {
	for _, s := range []string{
		"alerts:\n  sinks:\n    - type: stdout\n",
		"alerts:\n  sinks:\n    - {type: webhook, url: 'http://x/y', retries: -1, timeout: 5s, headers: {A: b}}\n",
		"alerts:\n  sinks:\n    - {type: syslog, address: 'h:514', network: tcp, facility: local3}\n",
		"alerts:\n  sinks:\n    - {type: sns, topic: 'arn:aws:sns:us-east-1:1:t', min-severity: high}\n",
		"alerts: {sinks: [{type: slack}]}", "alerts: []", "alerts:\n  sinks: x\n", "- a\n- b\n", "{",
		"alerts:\n  sinks:\n    - name: pager\n      type: webhook\n      url: htp://x\n",
		"alerts:\n  sinks:\n    - {type: webhook, url: 'http://h/', headers: {A: [1]}, give-up-after: 3d}\n",
		"alerts:\n  sinks:\n    - type: file\n      path: a\n      path: b\n",
		"alerts:\n  sinks:\n    - &s {type: stdout}\n    - *s\n",
		"alerts:\n  sinks:\n    - {type: syslog, address: siem, timeout: -1s, retries: x}\n",
		"alerts:\n  sinks:\n    - {type: stdout, ? [a] : b}\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		cfgs, err := ParseSinkConfigs("fuzz.yaml", []byte(in))
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Fatalf("error without the file name: %v", err)
			}
			var ce *ConfigError
			if errors.As(err, &ce) && (ce.Line < 1 || ce.Line > strings.Count(in, "\n")+1 || ce.Column < 1) {
				t.Fatalf("error placed outside the input (line %d, column %d): %v", ce.Line, ce.Column, err)
			}
			return
		}
		for i := range cfgs {
			if err := cfgs[i].Validate(); err != nil {
				t.Fatalf("accepted sink %d does not validate: %v", i, err)
			}
		}
	})
}

// FuzzAlertJSON decodes arbitrary JSON as an alert: never a panic, and what
// decodes re-encodes to something that decodes to the same alert.
func FuzzAlertJSON(f *testing.F) {
	for _, a := range testAlerts() {
		b, _ := json.Marshal(a)
		f.Add(string(b))
	}
	f.Add(`{"id":"x","src":null,"first_seen":"2024-03-01T10:00:00+02:00","severity":"low"}`)
	f.Add(`{"severity":"urgent"}`)
	f.Fuzz(func(t *testing.T, in string) {
		var a Alert
		if err := json.Unmarshal([]byte(in), &a); err != nil {
			return
		}
		b, err := json.Marshal(a)
		if err != nil {
			return // e.g. an invalid severity value cannot be written
		}
		var back Alert
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("re-decoding %s: %v", b, err)
		}
		b2, _ := json.Marshal(back)
		if string(b) != string(b2) {
			t.Fatalf("not stable:\n%s\n%s", b, b2)
		}
	})
}

// FuzzSyslogMessage renders alerts with arbitrary text and checks that the
// strict RFC 5424 parser reads the fields back unchanged.
func FuzzSyslogMessage(f *testing.F) {
	f.Add("Scan \"q\" \\ ]", "ports", "v]a\"l\\", "local0")
	f.Add("", "", "", "kern")
	f.Add("ünï\x00\xff", "k e=y", "\n", "local7")
	f.Fuzz(func(t *testing.T, title, key, val, fac string) {
		a := testAlerts()[0]
		a.Title, a.Evidence = title, map[string]any{key: val}
		code, ok := facilities[fac]
		if !ok {
			code = 16
		}
		m, err := parse5424(SyslogMessage(&a, code, "host", time.Now()))
		if err != nil {
			t.Fatalf("unparsable message: %v", err)
		}
		if got, want := m.SD[SDID]["title"], strings.ToValidUTF8(title, "\uFFFD"); got != want {
			t.Fatalf("title %q came back as %q", want, got)
		}
		if got, want := m.SD[EvidenceSDID][sdName(key)], strings.ToValidUTF8(val, "\uFFFD"); got != want {
			t.Fatalf("evidence %q came back as %q", want, got)
		}
	})
}
