package alert

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Sink delivers alerts somewhere. Send gets only the alerts meant for this
// sink (the Dispatcher filters by status and severity) and returns an error
// when any of them could not be delivered; it must honour ctx.
type Sink interface {
	Name() string
	Send(ctx context.Context, alerts []Alert) error
}

// The sink types.
const (
	SinkStdout  = "stdout"
	SinkFile    = "file"
	SinkWebhook = "webhook"
	SinkSlack   = "slack"
	SinkSNS     = "sns"
	SinkSyslog  = "syslog"
)

// SinkTypes lists every sink type.
var SinkTypes = []string{SinkStdout, SinkFile, SinkWebhook, SinkSlack, SinkSNS, SinkSyslog}

// Defaults for SinkConfig fields left zero.
const (
	DefaultTimeout = 10 * time.Second
	DefaultRetries = 3
	DefaultBackoff = time.Second
)

// SinkConfig configures one sink; the configuration file holds a list of them
// under alerts.sinks. Which fields apply depends on Type (see docs/alerts.md).
// url, headers, topic, endpoint and address may name environment variables
// as ${NAME}, so that secrets stay out of the file; they are expanded when
// the sink is built.
type SinkConfig struct {
	// Name labels the sink in reports; default the type.
	Name string `yaml:"name,omitempty"`
	// Type is stdout, file, webhook, slack, sns or syslog.
	Type string `yaml:"type"`
	// MinSeverity is the least severe alert this sink gets; default all.
	MinSeverity Severity `yaml:"min-severity,omitempty"`
	// SendUpdates also sends alerts whose incident went on (new last_seen,
	// count), not only new ones.
	SendUpdates bool `yaml:"send-updates,omitempty"`

	// Format is ndjson (default) or text for stdout and file.
	Format string `yaml:"format,omitempty"`
	// Path is the file sink's NDJSON file (appended to, fsynced per batch).
	Path string `yaml:"path,omitempty"`

	// URL is where webhook and slack POST.
	URL string `yaml:"url,omitempty"`
	// Headers are added to webhook and slack requests (e.g. Authorization).
	Headers map[string]string `yaml:"headers,omitempty"`
	// Batch makes the webhook POST {"alerts":[…]} once per dispatch instead
	// of one alert object per request.
	Batch bool `yaml:"batch,omitempty"`

	// Topic is the SNS topic ARN.
	Topic string `yaml:"topic,omitempty"`
	// Region is the SNS region; default the topic ARN's region.
	Region string `yaml:"region,omitempty"`
	// Endpoint overrides the SNS endpoint (VPC endpoints, tests).
	Endpoint string `yaml:"endpoint,omitempty"`
	// Profile is the AWS shared-config profile; default the SDK's chain.
	Profile string `yaml:"profile,omitempty"`

	// Network is udp (default) or tcp for syslog.
	Network string `yaml:"network,omitempty"`
	// Address is the syslog receiver's host:port.
	Address string `yaml:"address,omitempty"`
	// Facility is the syslog facility name; default local0.
	Facility string `yaml:"facility,omitempty"`
	// Hostname overrides the HOSTNAME of syslog messages.
	Hostname string `yaml:"hostname,omitempty"`

	// Timeout bounds each delivery attempt; default 10s.
	Timeout time.Duration `yaml:"timeout,omitempty"`
	// Retries is how many times a failed delivery is tried again; 0 means
	// the default 3, a negative value means never.
	Retries int `yaml:"retries,omitempty"`
	// Backoff is the first retry's delay, doubled each retry with jitter;
	// default 1s.
	Backoff time.Duration `yaml:"backoff,omitempty"`
}

// Validate checks that the fields the type needs are set and well formed.
func (c *SinkConfig) Validate() error {
	switch c.Type {
	case SinkStdout, SinkFile:
		if c.Format != "" && c.Format != "ndjson" && c.Format != "text" {
			return fmt.Errorf("format %q is not one of ndjson, text", c.Format)
		}
		if c.Type == SinkFile && c.Path == "" {
			return fmt.Errorf("a file sink needs a path")
		}
	case SinkWebhook, SinkSlack:
		if c.URL == "" {
			return fmt.Errorf("a %s sink needs a url", c.Type)
		}
		if !strings.Contains(c.URL, "${") {
			u, err := url.Parse(c.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("url %s is not an http or https URL", redactURL(c.URL))
			}
		}
	case SinkSNS:
		if c.Topic == "" {
			return fmt.Errorf("an sns sink needs a topic (the topic ARN)")
		}
		if c.Region == "" && !strings.Contains(c.Topic, "${") && topicRegion(c.Topic) == "" {
			return fmt.Errorf("topic %q is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME) and no region is given", c.Topic)
		}
	case SinkSyslog:
		if c.Network != "" && c.Network != "udp" && c.Network != "tcp" {
			return fmt.Errorf("network %q is not one of udp, tcp", c.Network)
		}
		if c.Address == "" {
			return fmt.Errorf("a syslog sink needs an address (host:port)")
		}
		if c.Facility != "" {
			if _, ok := facilities[c.Facility]; !ok {
				return fmt.Errorf("facility %q is not a syslog facility (local0…local7, auth, authpriv, security, daemon, user…)", c.Facility)
			}
		}
	case "":
		return fmt.Errorf("a sink needs a type (one of %s)", strings.Join(SinkTypes, ", "))
	default:
		return fmt.Errorf("sink type %q is not one of %s", c.Type, strings.Join(SinkTypes, ", "))
	}
	if c.MinSeverity != 0 && !c.MinSeverity.Valid() {
		return fmt.Errorf("min-severity %s is not valid", c.MinSeverity)
	}
	if c.Timeout < 0 || c.Backoff < 0 {
		return fmt.Errorf("timeout and backoff must not be negative")
	}
	return nil
}

// Label is the sink's name in reports: Name, else Type.
func (c *SinkConfig) Label() string {
	if c.Name != "" {
		return c.Name
	}
	return c.Type
}

// Target says where the sink delivers, without secrets: a webhook's scheme and
// host, a file's path, a topic ARN, a syslog network and address.
func (c *SinkConfig) Target() string {
	switch c.Type {
	case SinkStdout:
		return "stdout"
	case SinkFile:
		return c.Path
	case SinkWebhook, SinkSlack:
		return redactURL(c.URL)
	case SinkSNS:
		return c.Topic
	case SinkSyslog:
		n := c.Network
		if n == "" {
			n = "udp"
		}
		return n + "://" + c.Address
	}
	return ""
}

func (c *SinkConfig) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

func (c *SinkConfig) retries() int {
	switch {
	case c.Retries < 0:
		return 0
	case c.Retries == 0:
		return DefaultRetries
	}
	return c.Retries
}

func (c *SinkConfig) backoff() time.Duration {
	if c.Backoff > 0 {
		return c.Backoff
	}
	return DefaultBackoff
}

// expanded returns a copy with ${NAME} references replaced from the environment.
func (c SinkConfig) expanded() SinkConfig {
	c.URL = os.ExpandEnv(c.URL)
	c.Topic = os.ExpandEnv(c.Topic)
	c.Endpoint = os.ExpandEnv(c.Endpoint)
	c.Address = os.ExpandEnv(c.Address)
	if len(c.Headers) > 0 {
		h := make(map[string]string, len(c.Headers))
		for k, v := range c.Headers {
			h[k] = os.ExpandEnv(v)
		}
		c.Headers = h
	}
	return c
}

// unsetRefs reports the first ${NAME} reference whose variable is unset or
// empty: expanded, it would leave an empty URL, address or header value, and
// every delivery would fail with a puzzling error.
func (c *SinkConfig) unsetRefs() error {
	check := func(field, v string) error {
		var missing string
		os.Expand(v, func(name string) string {
			if missing == "" && os.Getenv(name) == "" {
				missing = name
			}
			return ""
		})
		if missing != "" {
			return fmt.Errorf("%s names ${%s}, which is not set", field, missing)
		}
		return nil
	}
	for _, f := range []struct{ field, v string }{{"url", c.URL}, {"topic", c.Topic}, {"endpoint", c.Endpoint}, {"address", c.Address}} {
		if err := check(f.field, f.v); err != nil {
			return err
		}
	}
	keys := make([]string, 0, len(c.Headers))
	for k := range c.Headers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := check("header "+k, c.Headers[k]); err != nil {
			return err
		}
	}
	return nil
}

// redactURL keeps a URL's scheme and host and hides its user, path and query,
// where webhook services put their secrets.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(url hidden)"
	}
	s := u.Scheme + "://" + u.Host
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		s += "/…"
	}
	return s
}

// redactErr replaces the full URL inside an HTTP client error with its
// redacted form, so that logs and reports never show a webhook's secret path.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: redactURL(ue.URL), Err: ue.Err}
	}
	return err
}

// Env is what sinks take from their surroundings; zero fields get defaults.
type Env struct {
	// Stdout is where the stdout sink writes; default os.Stdout.
	Stdout io.Writer
	// HTTPClient sends webhook and slack requests; default a new client per sink.
	HTTPClient *http.Client
	// Hostname is the syslog HOSTNAME; default os.Hostname().
	Hostname string
}

// NewSink builds the sink cfg describes. It validates cfg and expands
// environment references; SNS sinks load AWS configuration here.
func NewSink(ctx context.Context, cfg SinkConfig, env Env) (Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sink %s: %w", cfg.Label(), err)
	}
	if err := cfg.unsetRefs(); err != nil {
		return nil, fmt.Errorf("sink %s: %w", cfg.Label(), err)
	}
	c := cfg.expanded()
	var (
		s   Sink
		err error
	)
	switch c.Type {
	case SinkStdout:
		w := env.Stdout
		if w == nil {
			w = os.Stdout
		}
		s = NewStdoutSink(c.Label(), w, c.Format)
	case SinkFile:
		s = &fileSink{name: c.Label(), path: c.Path, format: c.Format}
	case SinkWebhook:
		s = &webhookSink{name: c.Label(), post: newPoster(&c, env.HTTPClient), batch: c.Batch}
	case SinkSlack:
		s = &slackSink{name: c.Label(), post: newPoster(&c, env.HTTPClient)}
	case SinkSNS:
		s, err = newSNSSink(ctx, &c)
	case SinkSyslog:
		s, err = newSyslogSink(&c, env.Hostname)
	}
	if err != nil {
		return nil, fmt.Errorf("sink %s: %w", cfg.Label(), err)
	}
	return s, nil
}

// LoadSinkConfigs reads the alerts.sinks list of a YAML configuration file
// (the rest of the file is ignored) and validates each sink. Errors name the
// file, line and column. A file without an alerts.sinks section yields none.
func LoadSinkConfigs(path string) ([]SinkConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return ParseSinkConfigs(path, b)
}

// ParseSinkConfigs is LoadSinkConfigs on content already read; name is used
// in error messages.
func ParseSinkConfigs(name string, b []byte) ([]SinkConfig, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("read config %s: %w", name, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	alerts := mappingValue(root, "alerts")
	if alerts == nil {
		return nil, nil
	}
	if alerts.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d:%d: alerts must be a mapping", name, alerts.Line, alerts.Column)
	}
	sinks := mappingValue(alerts, "sinks")
	if sinks == nil {
		return nil, nil
	}
	if sinks.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s:%d:%d: alerts.sinks must be a list", name, sinks.Line, sinks.Column)
	}
	known := yamlKeys(reflect.TypeFor[SinkConfig]())
	var out []SinkConfig
	for i, item := range sinks.Content {
		if item.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("%s:%d:%d: alerts.sinks[%d] must be a mapping", name, item.Line, item.Column, i)
		}
		for k := 0; k+1 < len(item.Content); k += 2 {
			key := item.Content[k]
			if !slices.Contains(known, key.Value) {
				return nil, fmt.Errorf("%s:%d:%d: alerts.sinks[%d]: unknown key %q (known: %s)",
					name, key.Line, key.Column, i, key.Value, strings.Join(known, ", "))
			}
		}
		var c SinkConfig
		if err := item.Decode(&c); err != nil {
			return nil, fmt.Errorf("%s:%d:%d: alerts.sinks[%d]: %w", name, item.Line, item.Column, i, err)
		}
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("%s:%d:%d: alerts.sinks[%d] (%s): %w", name, item.Line, item.Column, i, c.Label(), err)
		}
		out = append(out, c)
	}
	return out, nil
}

func mappingValue(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func yamlKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		if tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); tag != "" && tag != "-" {
			keys = append(keys, tag)
		}
	}
	return keys
}

// Redacted returns a copy safe to print (flowlens config show, logs): a URL
// keeps only its scheme and host, header values become ********, and values
// that are ${NAME} references stay as they are, since they hold no secret.
func (c SinkConfig) Redacted() SinkConfig {
	if c.URL != "" && !isEnvRef(c.URL) {
		c.URL = redactURL(c.URL)
	}
	if len(c.Headers) > 0 {
		h := make(map[string]string, len(c.Headers))
		for k, v := range c.Headers {
			if isEnvRef(v) {
				h[k] = v
			} else {
				h[k] = "********"
			}
		}
		c.Headers = h
	}
	return c
}

// isEnvRef reports whether s is exactly one ${NAME} reference.
func isEnvRef(s string) bool {
	return strings.HasPrefix(s, "${") && strings.HasSuffix(s, "}") && strings.Count(s, "$") == 1
}
