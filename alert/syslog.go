package alert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// SDID is the SD-ID of the structured-data element that carries an alert's
// fields in syslog messages; evidence goes in EvidenceSDID. 32473 is the
// private enterprise number RFC 5612 reserves for examples and documentation.
const (
	SDID         = "flowlens@32473"
	EvidenceSDID = "evidence@32473"
)

// facilities maps syslog facility names to their codes (RFC 5424 table 1).
var facilities = map[string]int{
	"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6,
	"news": 7, "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11, "ntp": 12,
	"security": 13, "console": 14, "solaris-cron": 15,
	"local0": 16, "local1": 17, "local2": 18, "local3": 19,
	"local4": 20, "local5": 21, "local6": 22, "local7": 23,
}

// SyslogSeverity maps an alert severity to the RFC 5424 severity code:
// critical 2 (Critical), high 3 (Error), medium 4 (Warning), low 5 (Notice),
// info 6 (Informational).
func SyslogSeverity(s Severity) int {
	switch s {
	case Critical:
		return 2
	case High:
		return 3
	case Medium:
		return 4
	case Low:
		return 5
	}
	return 6
}

// syslogSink sends RFC 5424 messages over UDP (one per datagram, RFC 5426)
// or TCP (octet-counting framing, RFC 6587).
type syslogSink struct {
	name     string
	network  string
	address  string
	hostname string
	facility int
	timeout  time.Duration
	retries  int
	backoff  time.Duration
	now      func() time.Time
}

func newSyslogSink(c *SinkConfig, hostname string) (*syslogSink, error) {
	network := c.Network
	if network == "" {
		network = "udp"
	}
	fac := facilities["local0"]
	if c.Facility != "" {
		fac = facilities[c.Facility]
	}
	if c.Hostname != "" {
		hostname = c.Hostname
	}
	if hostname == "" {
		hostname, _ = os.Hostname()
	}
	return &syslogSink{name: c.Label(), network: network, address: c.Address, hostname: headerField(hostname, 255),
		facility: fac, timeout: c.timeout(), retries: c.retries(), backoff: c.backoff(), now: time.Now}, nil
}

func (s *syslogSink) Name() string { return s.name }

// headerField makes s a valid RFC 5424 header field: printable US-ASCII
// without spaces, at most n characters, "-" (NILVALUE) when empty.
func headerField(s string, n int) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s) && len(b) < n; i++ {
		if c := s[i]; c > 32 && c < 127 {
			b = append(b, c)
		}
	}
	if len(b) == 0 {
		return "-"
	}
	return string(b)
}

// sdName makes s a valid SD-NAME: 1 to 32 printable US-ASCII characters
// other than '=', ' ', ']' and '"'.
func sdName(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s) && len(b) < 32; i++ {
		c := s[i]
		if c <= 32 || c >= 127 || c == '=' || c == ']' || c == '"' {
			c = '_'
		}
		b = append(b, c)
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}

// sdEscape escapes a PARAM-VALUE: '"', '\' and ']' take a backslash.
func sdEscape(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return sdEscaper.Replace(s)
}

var sdEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, `]`, `\]`)

// SyslogMessage renders one alert as an RFC 5424 message (without transport
// framing): PRI from facility and severity, version 1, the time now, host,
// APP-NAME flowlens, the process id, MSGID "alert", the alert fields in a
// flowlens@32473 element, the evidence in an evidence@32473 element, and
// Alert.Line as the message (after a BOM, as UTF-8).
func SyslogMessage(a *Alert, facility int, hostname string, now time.Time) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<%d>1 %s %s flowlens %d alert ", facility*8+SyslogSeverity(a.Severity),
		now.UTC().Format("2006-01-02T15:04:05.000000Z07:00"), headerField(hostname, 255), os.Getpid())
	param := func(k, v string) {
		b.WriteByte(' ')
		b.WriteString(sdName(k))
		b.WriteString(`="`)
		b.WriteString(sdEscape(v))
		b.WriteByte('"')
	}
	b.WriteString("[" + SDID)
	param("id", a.ID)
	param("rule", a.Rule)
	param("category", a.Category)
	param("severity", a.Severity.String())
	param("title", a.Title)
	if a.Src != "" {
		param("src", a.Src)
	}
	if a.Dst != "" {
		param("dst", a.Dst)
	}
	param("first_seen", rfc3339(a.FirstSeen))
	param("last_seen", rfc3339(a.LastSeen))
	param("count", strconv.FormatInt(a.Count, 10))
	if len(a.MITRE) > 0 {
		param("mitre", strings.Join(a.MITRE, ","))
	}
	if a.Status != "" {
		param("status", string(a.Status))
	}
	b.WriteByte(']')
	if len(a.Evidence) > 0 {
		keys := make([]string, 0, len(a.Evidence))
		for k := range a.Evidence {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteString("[" + EvidenceSDID)
		for _, k := range keys {
			param(k, evidenceValue(a.Evidence[k]))
		}
		b.WriteByte(']')
	}
	b.WriteString(" \xEF\xBB\xBF")
	b.WriteString(a.Line())
	return b.Bytes()
}

func (s *syslogSink) Send(ctx context.Context, alerts []Alert) error {
	now := s.now()
	frames := make([][]byte, len(alerts))
	for i := range alerts {
		frames[i] = SyslogMessage(&alerts[i], s.facility, s.hostname, now)
	}
	var last error
	p := &poster{backoff: s.backoff}
	for attempt := 0; ; attempt++ {
		err := s.deliver(ctx, frames)
		if err == nil {
			return nil
		}
		last = err
		if attempt >= s.retries || ctx.Err() != nil {
			break
		}
		if err := sleepCtx(ctx, p.delay(attempt)); err != nil {
			break
		}
	}
	if s.retries > 0 {
		return fmt.Errorf("%w (after retries)", last)
	}
	return last
}

// deliver opens a connection, writes every frame and closes it.
func (s *syslogSink) deliver(ctx context.Context, frames [][]byte) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, s.network, s.address)
	if err != nil {
		return fmt.Errorf("syslog %s://%s: %w", s.network, s.address, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if s.network == "udp" {
		for _, f := range frames {
			if _, err := conn.Write(f); err != nil {
				return fmt.Errorf("syslog udp://%s: %w", s.address, err)
			}
		}
		return nil
	}
	var buf bytes.Buffer
	for _, f := range frames {
		buf.WriteString(strconv.Itoa(len(f)))
		buf.WriteByte(' ')
		buf.Write(f)
	}
	if _, err := conn.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("syslog tcp://%s: %w", s.address, err)
	}
	if err := conn.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("syslog tcp://%s: %w", s.address, err)
	}
	return nil
}
