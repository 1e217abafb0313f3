package alert

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
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
	// GiveUpAfter is how long an alert the sink has not acknowledged stays
	// owed to it (retried by every later run) before it is given up;
	// default DefaultGiveUpAfter (7 days).
	GiveUpAfter time.Duration `yaml:"give-up-after,omitempty"`

	// pos locates the sink's keys in the file it was read from; nil for a
	// configuration built in code.
	pos *sinkPos
}

// Validate checks that the fields the type needs are set and well formed.
// Its error is a *ConfigError, placed at the offending key's value when the
// configuration was read from YAML.
func (c *SinkConfig) Validate() error {
	switch c.Type {
	case SinkStdout, SinkFile:
		if c.Format != "" && c.Format != "ndjson" && c.Format != "text" {
			return c.errAt("format", "format %q is not one of ndjson, text", c.Format)
		}
		if c.Type == SinkFile && c.Path == "" {
			return c.errAt("path", "a file sink needs a path")
		}
	case SinkWebhook, SinkSlack:
		if c.URL == "" {
			return c.errAt("url", "a %s sink needs a url", c.Type)
		}
		if !strings.Contains(c.URL, "${") {
			u, err := url.Parse(c.URL)
			switch {
			case err != nil:
				return c.errAt("url", "%s url %q: not a valid URL", c.Type, redactURL(c.URL))
			case u.Scheme != "http" && u.Scheme != "https":
				return c.errAt("url", "%s url %q: scheme must be http or https", c.Type, redactURL(c.URL))
			case u.Host == "":
				return c.errAt("url", "%s url %q: no host", c.Type, redactURL(c.URL))
			}
		}
	case SinkSNS:
		if c.Topic == "" {
			return c.errAt("topic", "an sns sink needs a topic (the topic ARN)")
		}
		if c.Region == "" && !strings.Contains(c.Topic, "${") && topicRegion(c.Topic) == "" {
			return c.errAt("topic", "topic %q is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME) and no region is given", c.Topic)
		}
	case SinkSyslog:
		if c.Network != "" && c.Network != "udp" && c.Network != "tcp" {
			return c.errAt("network", "network %q is not one of udp, tcp", c.Network)
		}
		if c.Address == "" {
			return c.errAt("address", "a syslog sink needs an address (host:port)")
		}
		if !strings.Contains(c.Address, "${") {
			if _, port, err := net.SplitHostPort(c.Address); err != nil || port == "" {
				return c.errAt("address", "address %q is not host:port", c.Address)
			}
		}
		if c.Facility != "" {
			if _, ok := facilities[c.Facility]; !ok {
				return c.errAt("facility", "facility %q is not a syslog facility (local0…local7, auth, authpriv, security, daemon, user…)", c.Facility)
			}
		}
	case "":
		return c.errAt("type", "a sink needs a type (one of %s)", strings.Join(SinkTypes, ", "))
	default:
		return c.errAt("type", "type %q is not one of %s", c.Type, strings.Join(SinkTypes, ", "))
	}
	if c.MinSeverity != 0 && !c.MinSeverity.Valid() {
		return c.errAt("min-severity", "min-severity %s is not valid", c.MinSeverity)
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"timeout", c.Timeout}, {"backoff", c.Backoff}, {"give-up-after", c.GiveUpAfter}} {
		if d.v < 0 {
			return c.errAt(d.key, "%s %s must not be negative", d.key, d.v)
		}
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

// DefaultGiveUpAfter is how long an undelivered alert stays owed to a sink
// whose configuration gives no give-up-after.
const DefaultGiveUpAfter = 7 * 24 * time.Hour

func (c *SinkConfig) giveUpAfter() time.Duration {
	if c.GiveUpAfter > 0 {
		return c.GiveUpAfter
	}
	return DefaultGiveUpAfter
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
			key := field
			if name, ok := strings.CutPrefix(field, "header "); ok {
				key = "headers." + name
			}
			return c.errAt(key, "%s names ${%s}, which is not set", field, missing)
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
// environment references (a *ConfigError when one is wrong); SNS sinks load
// AWS configuration here.
func NewSink(ctx context.Context, cfg SinkConfig, env Env) (Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.unsetRefs(); err != nil {
		return nil, err
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
