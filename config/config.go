// Package config reads flowlens's one YAML configuration file: the data folder,
// retention, default record format, detection rules and threat lists, alert
// sinks and server settings. Flags override it; it overrides built-in defaults.
// It sits between the CLI, which loads it once, and the packages whose settings
// it carries (alert sinks are alert.SinkConfig).
//
// Main types: Config and Duration.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/flowlens/flowlens/alert"
	"gopkg.in/yaml.v3"
)

// Config is the whole configuration. Every key is documented in docs/config.md;
// the YAML keys are kebab-case.
type Config struct {
	// Data is the data folder (lake, catalog, quarantine, alert state).
	Data string `yaml:"data,omitempty"`
	// Engine is the query engine: duckdb (embedded, the default) or a
	// clickhouse://host:port/db URL.
	Engine string `yaml:"engine,omitempty"`
	// Retention deletes lake partitions older than this after each ingest
	// (0 keeps everything).
	Retention Duration `yaml:"retention,omitempty"`
	// Format is the record format of input without a header line; default
	// AWS's version 2 format.
	Format string `yaml:"format,omitempty"`
	// Rules configures detection.
	Rules Rules `yaml:"rules,omitempty"`
	// ThreatLists are files of bad IPs and CIDRs, one per line, # comments.
	ThreatLists []string `yaml:"threat-lists,omitempty"`
	// Alerts configures where alerts go.
	Alerts Alerts `yaml:"alerts,omitempty"`
	// Server configures `flowlens serve`.
	Server Server `yaml:"server,omitempty"`
	// S3 configures access to S3 for `flowlens ingest s3://…`.
	S3 S3 `yaml:"s3,omitempty"`
}

// S3 configures access to S3 (or an S3-compatible service). Credentials come
// from the standard AWS chain, never from this file.
type S3 struct {
	// Region is the buckets' region; default AWS_REGION, else the profile's.
	Region string `yaml:"region,omitempty"`
	// Endpoint is the URL of an S3-compatible service; default AWS
	// (AWS_ENDPOINT_URL_S3 is read too).
	Endpoint string `yaml:"endpoint,omitempty"`
	// PathStyle addresses buckets as ENDPOINT/bucket instead of bucket.ENDPOINT.
	PathStyle bool `yaml:"path-style,omitempty"`
	// Profile is the AWS shared-config profile; default AWS_PROFILE.
	Profile string `yaml:"profile,omitempty"`
}

// Rules configures detection rules.
type Rules struct {
	// Dirs are folders of user rules (*.yaml), added to the built-in pack.
	Dirs []string `yaml:"dirs,omitempty"`
	// Disable lists rule ids to turn off, built-in or not.
	Disable []string `yaml:"disable,omitempty"`
}

// Alerts configures alert delivery.
type Alerts struct {
	Sinks []alert.SinkConfig `yaml:"sinks,omitempty"`
}

// Server configures the HTTP API and web console.
type Server struct {
	// Listen is the address to serve on; default 127.0.0.1:8080.
	Listen string `yaml:"listen,omitempty"`
	// Token is the bearer token required when Listen is not a loopback
	// address; may be ${ENV_NAME}.
	Token string `yaml:"token,omitempty"`
}

// Defaults returns the built-in configuration.
func Defaults() Config {
	return Config{Engine: "duckdb", Server: Server{Listen: "127.0.0.1:8080"}}
}

// Path returns the configuration file to read: flag, else $FLOWLENS_CONFIG,
// else $XDG_CONFIG_HOME/flowlens/config.yaml (~/.config/flowlens/config.yaml).
// explicit reports that the user named it, so a missing file is an error.
func Path(flag string) (path string, explicit bool) {
	if flag != "" {
		return flag, true
	}
	if p := os.Getenv("FLOWLENS_CONFIG"); p != "" {
		return p, true
	}
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", false
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "flowlens", "config.yaml"), false
}

// Load reads the configuration at path over the defaults. A missing file is
// not an error unless explicit. Unknown keys and wrong types are errors naming
// the file, line and column.
func Load(path string, explicit bool) (Config, error) {
	c := Defaults()
	if path == "" {
		return c, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("read config: %w", err)
	}
	if err := Parse(path, b, &c); err != nil {
		return c, err
	}
	return c, nil
}

// Parse decodes YAML content into c; name is used in error messages.
func Parse(name string, b []byte, c *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		var ce *alert.ConfigError
		if errors.As(err, &ce) {
			// A sink setting: placed at its line and column already.
			return alert.InFile(ce, name)
		}
		return fmt.Errorf("config %s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	for _, s := range c.Alerts.Sinks {
		if err := s.Validate(); err != nil {
			return alert.InFile(err, name)
		}
	}
	return nil
}

// YAML returns the configuration as YAML, with secrets masked.
func (c Config) YAML() ([]byte, error) {
	masked := c
	if masked.Server.Token != "" && !strings.HasPrefix(masked.Server.Token, "${") {
		masked.Server.Token = "********"
	}
	masked.Alerts.Sinks = make([]alert.SinkConfig, len(c.Alerts.Sinks))
	for i, sk := range c.Alerts.Sinks {
		masked.Alerts.Sinks[i] = sk.Redacted()
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(masked); err != nil {
		return nil, err
	}
	return buf.Bytes(), enc.Close()
}

// Duration is a length of time written as Go durations ("36h") or with day and
// week units ("90d", "2w").
type Duration time.Duration

// ErrDurationTooLong is ParseDuration's error for a length that time.Duration
// cannot hold.
var ErrDurationTooLong = errors.New("too long, at most about 290 years")

// ParseDuration reads "90d", "2w", "36h", "15m" and the like.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, nil
	}
	for _, u := range []struct {
		suffix string
		unit   time.Duration
	}{{"d", 24 * time.Hour}, {"w", 7 * 24 * time.Hour}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(n, 64)
			if err != nil || !(f >= 0) {
				return 0, fmt.Errorf("invalid duration %q: expected a number of days or weeks such as 90d or 2w", s)
			}
			if f*float64(u.unit) >= math.MaxInt64 {
				return 0, fmt.Errorf("invalid duration %q: %w", s, ErrDurationTooLong)
			}
			return time.Duration(f * float64(u.unit)), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid duration %q: expected a length such as 90d, 2w, 36h or 15m", s)
	}
	return d, nil
}

// UnmarshalYAML reads a Duration.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes a Duration in days when it is whole days.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

func (d Duration) String() string {
	td := time.Duration(d)
	if td != 0 && td%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(td/(24*time.Hour)), 10) + "d"
	}
	return td.String()
}
