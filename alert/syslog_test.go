package alert

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// msg5424 is an RFC 5424 message as a strict parser reads it.
type msg5424 struct {
	Pri      int
	Version  int
	Time     time.Time
	Hostname string
	AppName  string
	ProcID   string
	MsgID    string
	SD       map[string]map[string]string
	Msg      string
}

// parse5424 reads one message by RFC 5424's ABNF and rejects anything else.
func parse5424(b []byte) (msg5424, error) {
	var m msg5424
	s := string(b)
	if !strings.HasPrefix(s, "<") {
		return m, fmt.Errorf("no PRI")
	}
	end := strings.IndexByte(s, '>')
	if end < 2 || end > 4 {
		return m, fmt.Errorf("PRI is 1 to 3 digits")
	}
	pri, err := strconv.Atoi(s[1:end])
	if err != nil || pri > 191 || (len(s[1:end]) > 1 && s[1] == '0') {
		return m, fmt.Errorf("bad PRI %q", s[1:end])
	}
	m.Pri = pri
	s = s[end+1:]
	fields := make([]string, 0, 6)
	for range 6 {
		sp := strings.IndexByte(s, ' ')
		if sp < 0 {
			return m, fmt.Errorf("header ends early")
		}
		fields = append(fields, s[:sp])
		s = s[sp+1:]
	}
	if fields[0] != "1" {
		return m, fmt.Errorf("version %q, want 1", fields[0])
	}
	m.Version = 1
	if m.Time, err = time.Parse(time.RFC3339Nano, fields[1]); err != nil {
		return m, fmt.Errorf("timestamp: %w", err)
	}
	if _, frac, ok := strings.Cut(fields[1], "."); ok {
		if digits := len(frac) - len(strings.TrimLeft(frac, "0123456789")); digits < 1 || digits > 6 {
			return m, fmt.Errorf("TIME-SECFRAC has %d digits, want 1 to 6", digits)
		}
	}
	for i, max := range []int{0, 0, 255, 48, 128, 32} {
		if i < 2 {
			continue
		}
		f := fields[i]
		if len(f) == 0 || len(f) > max {
			return m, fmt.Errorf("header field %d %q: 1 to %d characters", i, f, max)
		}
		for _, c := range []byte(f) {
			if c < 33 || c > 126 {
				return m, fmt.Errorf("header field %d %q: not printable US-ASCII", i, f)
			}
		}
	}
	m.Hostname, m.AppName, m.ProcID, m.MsgID = fields[2], fields[3], fields[4], fields[5]
	// STRUCTURED-DATA = NILVALUE / 1*SD-ELEMENT
	m.SD = map[string]map[string]string{}
	if strings.HasPrefix(s, "-") {
		s = s[1:]
	} else {
		for strings.HasPrefix(s, "[") {
			s = s[1:]
			id, rest, err := sdNameAt(s)
			if err != nil {
				return m, fmt.Errorf("SD-ID: %w", err)
			}
			params := map[string]string{}
			m.SD[id] = params
			s = rest
			for strings.HasPrefix(s, " ") {
				name, rest, err := sdNameAt(s[1:])
				if err != nil {
					return m, fmt.Errorf("PARAM-NAME in %s: %w", id, err)
				}
				if !strings.HasPrefix(rest, `="`) {
					return m, fmt.Errorf("PARAM-NAME %s not followed by =\"", name)
				}
				rest = rest[2:]
				var val strings.Builder
				for {
					if rest == "" {
						return m, fmt.Errorf("PARAM-VALUE of %s not closed", name)
					}
					c := rest[0]
					if c == '\\' && len(rest) > 1 && strings.ContainsRune(`"\]`, rune(rest[1])) {
						val.WriteByte(rest[1])
						rest = rest[2:]
						continue
					}
					if c == '"' {
						rest = rest[1:]
						break
					}
					if c == ']' {
						return m, fmt.Errorf("unescaped ] in PARAM-VALUE of %s", name)
					}
					val.WriteByte(c)
					rest = rest[1:]
				}
				params[name] = val.String()
				s = rest
			}
			if !strings.HasPrefix(s, "]") {
				return m, fmt.Errorf("SD-ELEMENT %s not closed: %.20q", id, s)
			}
			s = s[1:]
		}
	}
	if s == "" {
		return m, nil
	}
	if !strings.HasPrefix(s, " ") {
		return m, fmt.Errorf("no SP before MSG: %.20q", s)
	}
	m.Msg = strings.TrimPrefix(s[1:], "\xEF\xBB\xBF")
	return m, nil
}

// sdNameAt reads an SD-NAME at the start of s.
func sdNameAt(s string) (string, string, error) {
	i := 0
	for i < len(s) && s[i] > 32 && s[i] < 127 && s[i] != '=' && s[i] != ']' && s[i] != '"' && s[i] != ' ' {
		i++
	}
	if i == 0 || i > 32 {
		return "", "", fmt.Errorf("SD-NAME of %d characters at %.20q", i, s)
	}
	return s[:i], s[i:], nil
}

func syslogAlerts() []Alert {
	as := testAlerts()
	as[0].Title = `Scan "quoted" \ back]slash`
	as[0].Evidence = map[string]any{"ports": 1000.0, "odd key=]\"": "v]a\"l\\"}
	return as
}

func wantSyslog(t *testing.T, as []Alert, host string) []msg5424 {
	t.Helper()
	var out []msg5424
	for i, a := range as {
		m := msg5424{Pri: 16*8 + []int{3, 2}[i], Version: 1, Hostname: host, AppName: "flowlens",
			ProcID: strconv.Itoa(os.Getpid()), MsgID: "alert",
			SD: map[string]map[string]string{SDID: {
				"id": a.ID, "rule": a.Rule, "category": a.Category, "severity": a.Severity.String(), "title": a.Title,
				"src": a.Src, "first_seen": rfc3339(a.FirstSeen), "last_seen": rfc3339(a.LastSeen),
				"count": "1", "mitre": "T1046", "status": "open",
			}},
			Msg: a.Line(),
		}
		if a.Dst != "" {
			m.SD[SDID]["dst"] = a.Dst
		}
		out = append(out, m)
	}
	out[0].SD[EvidenceSDID] = map[string]string{"ports": "1000", "odd_key___": "v]a\"l\\"}
	out[1].SD[EvidenceSDID] = map[string]string{"hosts": "254"}
	return out
}

func checkTimes(t *testing.T, got []msg5424, before time.Time) {
	t.Helper()
	for i := range got {
		if got[i].Time.Before(before.Add(-time.Second)) || got[i].Time.After(time.Now().Add(time.Second)) {
			t.Errorf("message %d timestamp %s is not now", i, got[i].Time)
		}
		got[i].Time = time.Time{}
	}
}

func TestSyslogUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	s, err := NewSink(context.Background(), SinkConfig{Type: SinkSyslog, Address: pc.LocalAddr().String(), Hostname: "probe 1"}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	as := syslogAlerts()
	before := time.Now()
	if err := s.Send(context.Background(), as); err != nil {
		t.Fatal(err)
	}
	var got []msg5424
	buf := make([]byte, 65536)
	for range as {
		_ = pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		m, err := parse5424(buf[:n])
		if err != nil {
			t.Fatalf("datagram %q: %v", buf[:n], err)
		}
		got = append(got, m)
	}
	checkTimes(t, got, before)
	if diff := cmp.Diff(wantSyslog(t, as, "probe1"), got); diff != "" {
		t.Errorf("UDP messages (-want +got):\n%s", diff)
	}
}

func TestSyslogTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	received := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			received <- nil
			return
		}
		defer c.Close()
		b, _ := io.ReadAll(c)
		received <- b
	}()
	s, err := NewSink(context.Background(), SinkConfig{Type: SinkSyslog, Network: "tcp", Address: ln.Addr().String(),
		Hostname: "sensor-a", Facility: "local0"}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	as := syslogAlerts()
	before := time.Now()
	if err := s.Send(context.Background(), as); err != nil {
		t.Fatal(err)
	}
	var raw []byte
	select {
	case raw = <-received:
	case <-time.After(5 * time.Second):
		t.Fatal("no TCP data")
	}
	// Octet-counting framing (RFC 6587 3.4.1): MSG-LEN SP SYSLOG-MSG.
	r := bufio.NewReader(strings.NewReader(string(raw)))
	var got []msg5424
	for {
		lenText, err := r.ReadString(' ')
		if err == io.EOF && lenText == "" {
			break
		}
		if err != nil {
			t.Fatalf("frame length: %v", err)
		}
		n, err := strconv.Atoi(strings.TrimSuffix(lenText, " "))
		if err != nil || n <= 0 || lenText[0] == '0' {
			t.Fatalf("bad MSG-LEN %q", lenText)
		}
		frame := make([]byte, n)
		if _, err := io.ReadFull(r, frame); err != nil {
			t.Fatalf("frame of %d bytes: %v", n, err)
		}
		m, err := parse5424(frame)
		if err != nil {
			t.Fatalf("frame %q: %v", frame, err)
		}
		got = append(got, m)
	}
	checkTimes(t, got, before)
	if diff := cmp.Diff(wantSyslog(t, as, "sensor-a"), got); diff != "" {
		t.Errorf("TCP messages (-want +got):\n%s", diff)
	}
}

func TestSyslogPRI(t *testing.T) {
	tests := []struct {
		facility string
		sev      Severity
		want     int
	}{
		{"local0", Critical, 130},
		{"local0", Info, 134},
		{"auth", High, 35},
		{"security", Medium, 108},
		{"local7", Low, 189},
		{"kern", Critical, 2},
	}
	for _, tt := range tests {
		a := testAlerts()[0]
		a.Severity = tt.sev
		m, err := parse5424(SyslogMessage(&a, facilities[tt.facility], "h", time.Now()))
		if err != nil {
			t.Fatal(err)
		}
		if m.Pri != tt.want {
			t.Errorf("%s/%s: PRI %d, want %d", tt.facility, tt.sev, m.Pri, tt.want)
		}
	}
}

func TestSyslogRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s, err := NewSink(context.Background(), SinkConfig{Type: SinkSyslog, Network: "tcp", Address: addr, Retries: 1, Backoff: time.Millisecond}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), testAlerts())
	if err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "tcp://"+addr) {
		t.Errorf("Send to a closed port: %v", err)
	}
}
