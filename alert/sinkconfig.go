package alert

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/flowlens/flowlens/internal/spell"
	"gopkg.in/yaml.v3"
)

// ConfigError is a wrong sink setting. Read from YAML, it is placed at the
// offending value (or at the sink, for a missing key); Error renders
// "FILE:LINE:COLUMN: sink "NAME": what is wrong".
type ConfigError struct {
	// File is the configuration file; empty when the caller has not said
	// (SinkConfig.UnmarshalYAML cannot know it).
	File string
	// Line and Column are 1-based; 0 when the configuration was built in code.
	Line, Column int
	// Sink names the sink: its name, else its type, else its place in the list.
	Sink string
	// Key is the setting at fault ("url", "headers.Authorization"), empty for
	// the sink as a whole.
	Key string
	// Err says what is wrong with it.
	Err error
}

// Error renders the error with its place first.
func (e *ConfigError) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d:%d: ", e.File, e.Line, e.Column)
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d, column %d: ", e.Line, e.Column)
	}
	if e.Sink != "" {
		if strings.HasPrefix(e.Sink, "alerts.sinks[") {
			b.WriteString(e.Sink + ": ")
		} else {
			fmt.Fprintf(&b, "sink %q: ", e.Sink)
		}
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns what is wrong.
func (e *ConfigError) Unwrap() error { return e.Err }

// InFile returns err with file as its file when it is a *ConfigError that
// names none, so a caller that knows which file a configuration came from can
// complete the message; other errors come back as they are.
func InFile(err error, file string) error {
	var ce *ConfigError
	if errors.As(err, &ce) && ce.File == "" {
		c := *ce
		c.File = file
		return &c
	}
	return err
}

// position is a place in a YAML file.
type position struct{ line, column int }

// sinkPos records where a sink's settings are: the sink's mapping, and each
// key's value ("headers.NAME" for one header's value).
type sinkPos struct {
	item   position
	values map[string]position
}

// errAt makes a *ConfigError about key, placed at its value when the
// configuration was read from YAML (at the sink when the key is absent).
func (c *SinkConfig) errAt(key, format string, args ...any) error {
	e := &ConfigError{Sink: c.Label(), Key: key, Err: fmt.Errorf(format, args...)}
	if c.pos != nil {
		p, ok := c.pos.values[key]
		if !ok {
			p = c.pos.item
		}
		e.Line, e.Column = p.line, p.column
	}
	return e
}

// sinkKeys are the keys of a sink's mapping, in the order of docs/alerts.md.
var sinkKeys = []string{
	"name", "type", "min-severity", "send-updates", "format", "path", "url", "headers", "batch",
	"topic", "region", "endpoint", "profile", "network", "address", "facility", "hostname",
	"timeout", "retries", "backoff", "give-up-after",
}

// UnmarshalYAML reads one sink's mapping strictly, so that the configuration
// file reports a wrong sink at its line and column: an unknown or repeated
// key, a value of the wrong kind, and (when the type is one of SinkTypes)
// every check of Validate. A missing or unknown type is left to the caller,
// which knows the sink's place in its list; ParseSinkConfigs reports it.
// Errors are *ConfigError values without a file name (see InFile).
func (c *SinkConfig) UnmarshalYAML(n *yaml.Node) error {
	out := SinkConfig{pos: &sinkPos{item: position{n.Line, n.Column}, values: map[string]position{}}}
	if n.Kind != yaml.MappingNode {
		return &ConfigError{Line: n.Line, Column: n.Column, Err: fmt.Errorf("a sink must be a mapping (type: …, …), not %s", nodeKind(n))}
	}
	// The label comes first so that every error names the sink.
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind == yaml.ScalarNode && (k.Value == "name" || k.Value == "type") {
			if k.Value == "name" {
				out.Name = v.Value
			} else {
				out.Type = v.Value
			}
		}
	}
	first := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		keyErr := func(format string, args ...any) error {
			return &ConfigError{Line: k.Line, Column: k.Column, Sink: out.Label(), Key: k.Value, Err: fmt.Errorf(format, args...)}
		}
		valErr := func(format string, args ...any) error {
			return &ConfigError{Line: v.Line, Column: v.Column, Sink: out.Label(), Key: k.Value, Err: fmt.Errorf(format, args...)}
		}
		if k.Kind != yaml.ScalarNode {
			return keyErr("a key must be a word, not %s", nodeKind(k))
		}
		if !containsString(sinkKeys, k.Value) {
			if m := spell.Closest(k.Value, sinkKeys); m != "" {
				return keyErr("unknown key %q (did you mean %s?)", k.Value, m)
			}
			return keyErr("unknown key %q (known: %s)", k.Value, strings.Join(sinkKeys, ", "))
		}
		if line, ok := first[k.Value]; ok {
			return keyErr("key %q is given twice (first on line %d)", k.Value, line)
		}
		first[k.Value] = k.Line
		out.pos.values[k.Value] = position{v.Line, v.Column}
		if k.Value == "headers" {
			h, err := decodeHeaders(v, out.pos)
			if err != nil {
				if ce, ok := err.(*ConfigError); ok {
					ce.Sink = out.Label()
				}
				return err
			}
			out.Headers = h
			continue
		}
		if v.Kind != yaml.ScalarNode {
			return valErr("%s must be a single value, not %s", k.Value, nodeKind(v))
		}
		if v.Tag == "!!null" {
			return valErr("%s has no value", k.Value)
		}
		if err := out.set(k.Value, v.Value); err != nil {
			return valErr("%s", err)
		}
	}
	if containsString(SinkTypes, out.Type) {
		if err := out.Validate(); err != nil {
			return err
		}
	}
	*c = out
	return nil
}

// set stores one scalar setting; the error says what the value should be.
func (c *SinkConfig) set(key, v string) error {
	var err error
	switch key {
	case "name":
		c.Name = v
	case "type":
		c.Type = v
	case "min-severity":
		if c.MinSeverity, err = ParseSeverity(v); err != nil {
			return fmt.Errorf("min-severity %q is not one of critical, high, medium, low, info", v)
		}
	case "send-updates":
		c.SendUpdates, err = parseBool(key, v)
	case "batch":
		c.Batch, err = parseBool(key, v)
	case "format":
		c.Format = v
	case "path":
		c.Path = v
	case "url":
		c.URL = v
	case "topic":
		c.Topic = v
	case "region":
		c.Region = v
	case "endpoint":
		c.Endpoint = v
	case "profile":
		c.Profile = v
	case "network":
		c.Network = v
	case "address":
		c.Address = v
	case "facility":
		c.Facility = v
	case "hostname":
		c.Hostname = v
	case "timeout":
		c.Timeout, err = parseSinkDuration(key, v)
	case "backoff":
		c.Backoff, err = parseSinkDuration(key, v)
	case "give-up-after":
		c.GiveUpAfter, err = parseSinkDuration(key, v)
	case "retries":
		n, perr := strconv.Atoi(v)
		if perr != nil {
			return fmt.Errorf("retries %q is not a whole number (-1 for no retries)", v)
		}
		c.Retries = n
	}
	return err
}

func parseBool(key, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "yes", "on":
		return true, nil
	case "false", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("%s %q is not true or false", key, v)
}

// parseSinkDuration reads a Go duration (10s, 1m30s) or whole days and
// weeks (7d, 2w), as the rest of the configuration file writes them.
func parseSinkDuration(key, v string) (time.Duration, error) {
	s := strings.TrimSpace(v)
	for _, u := range []struct {
		suffix string
		unit   time.Duration
	}{{"d", 24 * time.Hour}, {"w", 7 * 24 * time.Hour}} {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			n, err := strconv.Atoi(num)
			if err == nil && n >= 0 && n <= 100*365 {
				return time.Duration(n) * u.unit, nil
			}
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not a duration such as 10s, 2m or 7d", key, v)
	}
	if d < 0 {
		return 0, fmt.Errorf("%s %s must not be negative", key, v)
	}
	return d, nil
}

// decodeHeaders reads the headers mapping: header names to text values.
func decodeHeaders(v *yaml.Node, pos *sinkPos) (map[string]string, error) {
	if v.Kind != yaml.MappingNode {
		return nil, &ConfigError{Line: v.Line, Column: v.Column, Key: "headers",
			Err: fmt.Errorf("headers must be a mapping of header names to values (Authorization: Bearer …), not %s", nodeKind(v))}
	}
	h := make(map[string]string, len(v.Content)/2)
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Value == "" || strings.ContainsAny(k.Value, " :\r\n") {
			return nil, &ConfigError{Line: k.Line, Column: k.Column, Key: "headers",
				Err: fmt.Errorf("header name %q is not a valid HTTP header name", k.Value)}
		}
		if val.Kind != yaml.ScalarNode || val.Tag == "!!null" {
			return nil, &ConfigError{Line: val.Line, Column: val.Column, Key: "headers." + k.Value,
				Err: fmt.Errorf("header %s must have a text value, not %s", k.Value, nodeKind(val))}
		}
		if _, dup := h[k.Value]; dup {
			return nil, &ConfigError{Line: k.Line, Column: k.Column, Key: "headers." + k.Value,
				Err: fmt.Errorf("header %s is given twice", k.Value)}
		}
		h[k.Value] = val.Value
		pos.values["headers."+k.Value] = position{val.Line, val.Column}
	}
	return h, nil
}

// nodeKind names what a YAML node is, for error messages.
func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "a document"
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// LoadSinkConfigs reads the alerts.sinks list of a YAML configuration file
// (the rest of the file is ignored) and validates each sink. Errors are
// *ConfigError values naming the file, line and column. A file without an
// alerts.sinks section yields none.
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
	at := func(n *yaml.Node, format string, args ...any) error {
		return &ConfigError{File: name, Line: n.Line, Column: n.Column, Err: fmt.Errorf(format, args...)}
	}
	root := doc.Content[0]
	alerts := mappingValue(root, "alerts")
	if alerts == nil {
		return nil, nil
	}
	if alerts.Kind != yaml.MappingNode {
		return nil, at(alerts, "alerts must be a mapping")
	}
	sinks := mappingValue(alerts, "sinks")
	if sinks == nil {
		return nil, nil
	}
	if sinks.Kind != yaml.SequenceNode {
		return nil, at(sinks, "alerts.sinks must be a list")
	}
	var out []SinkConfig
	for i, item := range sinks.Content {
		if item.Kind == yaml.AliasNode && item.Alias != nil {
			item = item.Alias // - *common: the anchored sink's mapping
		}
		if item.Kind != yaml.MappingNode {
			return nil, at(item, "alerts.sinks[%d] must be a mapping (type: …, …), not %s", i, nodeKind(item))
		}
		var c SinkConfig
		if err := item.Decode(&c); err != nil {
			var ce *ConfigError
			if errors.As(err, &ce) {
				if ce.Sink == "" {
					ce.Sink = fmt.Sprintf("alerts.sinks[%d]", i)
				}
				return nil, InFile(ce, name)
			}
			return nil, at(item, "alerts.sinks[%d]: %v", i, err)
		}
		if err := c.Validate(); err != nil {
			var ce *ConfigError
			if errors.As(err, &ce) && ce.Sink == "" {
				ce.Sink = fmt.Sprintf("alerts.sinks[%d]", i)
			}
			return nil, InFile(err, name)
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
