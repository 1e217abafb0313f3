package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want func(*Config)
		err  string
	}{
		{name: "empty file keeps defaults", yaml: "", want: func(c *Config) {}},
		{name: "full", yaml: `
data: /var/lib/flowlens
retention: 90d
format: ${version} ${srcaddr}
rules:
  dirs: [/etc/flowlens/rules]
  disable: [unusual-port-host]
threat-lists: [/etc/flowlens/bad.txt]
alerts:
  sinks:
    - type: webhook
      url: https://hooks.example.invalid/x
      min-severity: high
server:
  listen: 0.0.0.0:8443
  token: ${FLOWLENS_TOKEN}
`, want: func(c *Config) {
			c.Data = "/var/lib/flowlens"
			c.Retention = Duration(90 * 24 * time.Hour)
			c.Format = "${version} ${srcaddr}"
			c.Rules.Dirs = []string{"/etc/flowlens/rules"}
			c.Rules.Disable = []string{"unusual-port-host"}
			c.ThreatLists = []string{"/etc/flowlens/bad.txt"}
			c.Server = Server{Listen: "0.0.0.0:8443", Token: "${FLOWLENS_TOKEN}"}
		}},
		{name: "unknown key names the line", yaml: "data: x\nretension: 9d\n", err: "line 2: field retension not found"},
		{name: "bad duration", yaml: "retention: ninety days\n", err: `line 1: invalid duration "ninety days"`},
		{name: "bad sink type", yaml: "alerts:\n  sinks:\n    - type: pager\n", err: `test.yaml:3:13: sink "pager": type "pager" is not one of stdout, file, webhook, slack, sns, syslog`},
		{name: "bad sink url", yaml: "alerts:\n  sinks:\n    - name: pager\n      type: webhook\n      url: htp://x\n", err: `test.yaml:5:12: sink "pager": webhook url "htp://x": scheme must be http or https`},
		{name: "wrong type", yaml: "threat-lists: 3\n", err: "line 1: cannot unmarshal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Defaults()
			err := Parse("test.yaml", []byte(tt.yaml), &c)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, want error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := Defaults()
			tt.want(&want)
			if tt.name == "full" {
				if len(c.Alerts.Sinks) != 1 || c.Alerts.Sinks[0].Type != "webhook" || c.Alerts.Sinks[0].MinSeverity.String() != "high" {
					t.Errorf("sinks = %+v", c.Alerts.Sinks)
				}
				c.Alerts.Sinks = nil
			}
			if d := cmp.Diff(want, c); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestLoadMissing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none.yaml")
	if _, err := Load(missing, false); err != nil {
		t.Errorf("implicit missing file: %v", err)
	}
	if _, err := Load(missing, true); err == nil {
		t.Error("explicit missing file: no error")
	}
}

func TestYAMLMasksSecrets(t *testing.T) {
	c := Defaults()
	if err := Parse("x", []byte("server:\n  token: s3cret\nalerts:\n  sinks:\n    - type: webhook\n      url: http://127.0.0.1:1/hook/secret-path\n      headers:\n        Authorization: Bearer abc\n        X-Key: ${KEY}\n"), &c); err != nil {
		t.Fatal(err)
	}
	b, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, secret := range []string{"s3cret", "Bearer abc", "/hook/secret-path"} {
		if strings.Contains(s, secret) {
			t.Errorf("YAML shows %q:\n%s", secret, s)
		}
	}
	if !strings.Contains(s, "${KEY}") {
		t.Errorf("YAML hides an environment reference:\n%s", s)
	}
	again := Defaults()
	if err := Parse("again", b, &again); err != nil {
		t.Errorf("printed config does not parse back: %v\n%s", err, s)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"90d": 90 * 24 * time.Hour, "2w": 14 * 24 * time.Hour, "36h": 36 * time.Hour, "1.5d": 36 * time.Hour, "0": 0} {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"-1d", "xd", "10", "soon", "NaNd"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q): no error", bad)
		}
	}
	// Lengths time.Duration cannot hold are refused, not wrapped around.
	for _, long := range []string{"200000d", "1e300w"} {
		if _, err := ParseDuration(long); !errors.Is(err, ErrDurationTooLong) {
			t.Errorf("ParseDuration(%q): %v, want ErrDurationTooLong", long, err)
		}
	}
}
