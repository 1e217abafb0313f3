package flowlog_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/google/go-cmp/cmp"
)

const v5Format = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${vpc-id} ${subnet-id} ${instance-id} ${tcp-flags} ${type} ${pkt-srcaddr} ${pkt-dstaddr} ${region} ${az-id} ${sublocation-type} ${sublocation-id} ${pkt-src-aws-service} ${pkt-dst-aws-service} ${flow-direction} ${traffic-path}"

const (
	defaultLine = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"
	v5Line      = "5 123456789012 eni-0a1b2c3d4e5f60789 10.0.1.25 52.95.128.179 44312 443 6 52 21480 1616729292 1616729349 ACCEPT OK vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-0c50d5961bcb2d47b 19 IPv4 10.0.1.25 52.95.128.179 us-east-1 use1-az4 - - - S3 egress 8"
)

func parseJSON(t *testing.T, format, line string) (map[string]any, error) {
	t.Helper()
	f := flowlog.Default()
	if format != "" {
		var err error
		if f, err = flowlog.ParseFormat(format); err != nil {
			t.Fatalf("format: %v", err)
		}
	}
	var r flowlog.Record
	if err := flowlog.NewParser(f).Parse([]byte(line), &r); err != nil {
		return nil, err
	}
	m := map[string]any{}
	if err := json.Unmarshal(f.AppendJSON(nil, &r), &m); err != nil {
		t.Fatalf("AppendJSON: %v", err)
	}
	return m, nil
}

func TestParse(t *testing.T) {
	tests := []struct {
		name   string
		format string
		line   string
		want   map[string]any // subset of columns to check
	}{
		{"default", "", defaultLine, map[string]any{"srcaddr": "172.31.16.139", "dstport": 22.0, "bytes": 4249.0, "action": "ACCEPT", "version": 2.0}},
		{"CRLF and repeated spaces", "", strings.ReplaceAll(defaultLine, " ", "  \t") + "\r\n", map[string]any{"srcaddr": "172.31.16.139", "log_status": "OK"}},
		{"NODATA nulls", "", "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA",
			map[string]any{"srcaddr": nil, "packets": nil, "action": nil, "log_status": "NODATA", "start": 1431280876.0}},
		{"SKIPDATA", "", "2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA", map[string]any{"log_status": "SKIPDATA"}},
		{"IPv6", "", "2 123456789010 eni-1235b8ca123456789 2001:db8:1234:a100:8d6e:3477:df66:f105 2001:db8:1234:a102:3304:8879:34cf:4071 34892 22 6 54 8855 1477913708 1477913820 ACCEPT OK",
			map[string]any{"srcaddr": "2001:db8:1234:a100:8d6e:3477:df66:f105", "dstport": 22.0}},
		{"milliseconds become seconds", "${start} ${end}", "1512564058000 1512564118000", map[string]any{"start": 1512564058.0, "end": 1512564118.0}},
		{"seconds stay seconds", "${start} ${end}", "1 99999999999", map[string]any{"start": 1.0, "end": 99999999999.0}},
		{"v5 all fields", v5Format, v5Line, map[string]any{"pkt_dst_aws_service": "S3", "traffic_path": 8.0, "flow_direction": "egress", "tcp_flags": 19.0, "sublocation_id": nil}},
		{"v11 tags are percent-decoded", "${srcaddr} ${src-tags}", "10.0.0.1 Name%3Dweb%20server%2Cteam%3Dpay%25", map[string]any{"src_tags": "Name=web server,team=pay%"}},
		{"unknown field kept as string", "${srcaddr} ${new-field}", "10.0.0.1 42", map[string]any{"srcaddr": "10.0.0.1", "new_field": "42"}},
		{"alias windowstart", "${windowstart} ${windowend} ${flow-log-status}", "1 2 OK", map[string]any{"start": 1.0, "end": 2.0, "log_status": "OK"}},
		{"column names in format", "srcaddr log_status", "10.0.0.1 OK", map[string]any{"srcaddr": "10.0.0.1", "log_status": "OK"}},
		// The ends of each field's legal range are values like any other.
		{"lowest values", "${version} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${tcp-flags} ${traffic-path} ${encryption-status} ${packets-lost-no-route}",
			"2 0 0 0 0 0 0 1 0 0", map[string]any{"version": 2.0, "srcport": 0.0, "dstport": 0.0, "protocol": 0.0, "packets": 0.0, "bytes": 0.0, "tcp_flags": 0.0, "traffic_path": 1.0, "encryption_status": 0.0, "packets_lost_no_route": 0.0}},
		{"highest values", "${version} ${srcport} ${dstport} ${protocol} ${tcp-flags} ${traffic-path} ${encryption-status} ${bytes}",
			"11 65535 65535 255 255 8 3 9223372036854775807", map[string]any{"version": 11.0, "srcport": 65535.0, "dstport": 65535.0, "protocol": 255.0, "tcp_flags": 255.0, "traffic_path": 8.0, "encryption_status": 3.0, "bytes": 9223372036854775807.0}},
		{"a flow that ends when it starts", "${start} ${end}", "1709251300 1709251300", map[string]any{"start": 1709251300.0, "end": 1709251300.0}},
		{"start after end in milliseconds of the same second", "${start} ${end}", "1709251300900 1709251300100", map[string]any{"start": 1709251300.0, "end": 1709251300.0}},
		{"start after end with one of them null", "${start} ${end}", "1709251300 -", map[string]any{"start": 1709251300.0, "end": nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseJSON(t, tt.format, tt.line)
			if err != nil {
				t.Fatal(err)
			}
			sub := map[string]any{}
			for k := range tt.want {
				sub[k] = got[k]
			}
			if d := cmp.Diff(tt.want, sub); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, format, line, want string
	}{
		{"too few values", "", "2 123456789010 eni-1", "column 21 (srcaddr): 3 values, but the format has 14 fields (missing srcaddr)"},
		{"too many values", "${srcaddr} ${dstaddr}", "10.0.0.1 10.0.0.2 x y", "column 19: 4 values, but the format has 2 fields (2 too many)"},
		{"bad integer", "${srcaddr} ${dstport}", "10.0.0.1 http", `column 10 (dstport): expected an integer or -, found "http"`},
		{"int32 overflow", "${dstport}", "99999999999", "column 1 (dstport): 99999999999 is out of range 0–65535"},
		// Values outside AWS's range of their field (which once passed through).
		{"srcport above 65535", "", "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 70000 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
			"column 65 (srcport): 70000 is out of range 0–65535"},
		{"dstport above 65535", "${srcaddr} ${dstport}", "10.0.0.1 70000", "column 10 (dstport): 70000 is out of range 0–65535"},
		{"negative dstport", "${dstport}", "-1", "column 1 (dstport): -1 is out of range 0–65535"},
		{"protocol above 255", "${protocol}", "256", "column 1 (protocol): 256 is out of range 0–255"},
		{"odd protocol", "${protocol}", "8080", "column 1 (protocol): 8080 is out of range 0–255"},
		{"negative protocol", "${protocol}", "-6", "column 1 (protocol): -6 is out of range 0–255"},
		{"negative packets", "${packets} ${bytes}", "-5 100", "column 1 (packets): -5 is out of range 0 or more"},
		{"negative bytes", "${packets} ${bytes}", "5 -100", "column 3 (bytes): -100 is out of range 0 or more"},
		{"version 1", "${version}", "1", "column 1 (version): 1 is out of range 2–11"},
		{"version 12", "${version}", "12", "column 1 (version): 12 is out of range 2–11"},
		{"tcp-flags above 255", "${tcp-flags}", "256", "column 1 (tcp-flags): 256 is out of range 0–255"},
		{"traffic-path 0", "${traffic-path}", "0", "column 1 (traffic-path): 0 is out of range 1–8"},
		{"traffic-path 9", "${traffic-path}", "9", "column 1 (traffic-path): 9 is out of range 1–8"},
		{"encryption-status 4", "${encryption-status}", "4", "column 1 (encryption-status): 4 is out of range 0–3"},
		{"negative packets-lost", "${packets-lost-mtu-exceeded}", "-1", "column 1 (packets-lost-mtu-exceeded): -1 is out of range 0 or more"},
		{"start after end", "", "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530070 1418530010 ACCEPT OK",
			"column 95 (end): 1418530010 is before start 1418530070"},
		{"start after end, tab-separated", "${end}\t${srcaddr}\t${start}", "100\t10.0.0.1\t200", "column 1 (end): 100 is before start 200"},
		{"start after end in milliseconds", "${start} ${end}", "1418530070000 1418530010000", "column 15 (end): 1418530010 is before start 1418530070"},
		{"int64 overflow", "${bytes}", "99999999999999999999", `column 1 (bytes): expected an integer or -, found "99999999999999999999"`},
		{"bad IPv4", "${srcaddr}", "10.0.0.256", `column 1 (srcaddr): expected an IPv4 or IPv6 address or -, found "10.0.0.256"`},
		{"leading zero IPv4", "${srcaddr}", "10.0.0.01", `column 1 (srcaddr): expected an IPv4 or IPv6 address or -, found "10.0.0.01"`},
		{"IPv6 zone", "${srcaddr}", "fe80::1%eth0", `column 1 (srcaddr): expected an IPv4 or IPv6 address or -, found "fe80::1%eth0"`},
		{"bad percent-encoding", "${dst-tags}", "a%2", `column 1 (dst-tags): invalid percent-encoding in "a%2"`},
		{"time beyond milliseconds", "${start}", "100000000010000", "column 1 (start): 100000000010000 is not a Unix time in seconds or milliseconds"},
		{"negative time", "${end}", "-5", "column 1 (end): -5 is not a Unix time in seconds or milliseconds"},
		{"empty line", "", "   ", "empty line"},
		{"value not UTF-8", "${srcaddr} ${action} ${log-status}", "10.0.0.1 ACC\xffEPT OK", "column 13 (action): expected UTF-8 text, found the byte 0xff"},
		{"control character in a value", "${action} ${log-status}", "ACCEPT O\x00K", "column 9 (log-status): expected printable text, found the control character 0x00"},
		{"unknown field not UTF-8", "${srcaddr} ${new-field}", "10.0.0.1 \xc3", "column 10 (new-field): expected UTF-8 text, found the byte 0xc3"},
		{"tag decodes to a control character", "${src-tags}", "Name%3Dweb%00", "column 1 (src-tags): expected printable text, found the control character 0x00 (after percent-decoding)"},
		{"tag decodes to bytes that are not UTF-8", "${dst-tags}", "Name%3D%FF", "column 1 (dst-tags): expected UTF-8 text, found the byte 0xff (after percent-decoding)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseJSON(t, tt.format, tt.line)
			var pe *flowlog.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a *ParseError", err)
			}
			if err.Error() != tt.want {
				t.Errorf("got  %q\nwant %q", err.Error(), tt.want)
			}
		})
	}
}

// TestParseTextBytes puts every byte value at every position of a text value
// (so that each lands in each lane of the eight-byte check) and expects the
// line to be refused exactly when the byte is not printable ASCII.
func TestParseTextBytes(t *testing.T) {
	const eni = "eni-0123456789abcdef0"
	var r flowlog.Record
	// The value in the middle of the line, then at its end (past its last
	// eight-byte word).
	for _, format := range []string{"${srcaddr} ${interface-id} ${action}", "${srcaddr} ${action} ${interface-id}"} {
		p := flowlog.NewParser(flowlog.MustFormat(format))
		mid := strings.HasSuffix(format, "${action}")
		for c := 0; c < 256; c++ {
			if c == ' ' || c == '\t' || (c == '\n' || c == '\r') && !mid {
				continue // separators, and line endings at the end of the line
			}
			for pos := 0; pos < len(eni); pos++ {
				v := []byte(eni)
				v[pos] = byte(c)
				line := append(append([]byte("10.0.0.1 "), v...), " ACCEPT"...)
				if !mid {
					line = append([]byte("10.0.0.1 ACCEPT "), v...)
				}
				err := p.Parse(line, &r)
				if bad := c < 0x20 || c >= 0x7f; bad != (err != nil) {
					t.Errorf("%s: byte %#02x at %d of %q: error %v", format, c, pos, eni, err)
				}
			}
		}
		line := "10.0.0.1 eni-caf\u00e9-\u2603 ACCEPT"
		if !mid {
			line = "10.0.0.1 ACCEPT eni-caf\u00e9-\u2603"
		}
		if err := p.Parse([]byte(line), &r); err != nil {
			t.Errorf("%s: UTF-8 beyond ASCII: %v", format, err)
		}
	}
}

// TestRoundTrip writes parsed records in other formats and parses them back.
func TestRoundTrip(t *testing.T) {
	formats := []string{flowlog.DefaultFormat, v5Format, "${dstport} ${srcaddr} ${start} ${action} ${src-tags} ${new-field}"}
	lines := []struct{ format, line string }{
		{"", defaultLine},
		{v5Format, v5Line},
		{"${srcaddr} ${src-tags} ${new-field} ${start}", "2001:db8::1 k%3Dv%20x 7 1512564058000"},
		{"", "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA"},
	}
	for _, in := range lines {
		src := flowlog.Default()
		if in.format != "" {
			src = flowlog.MustFormat(in.format)
		}
		var r1 flowlog.Record
		if err := flowlog.NewParser(src).Parse([]byte(in.line), &r1); err != nil {
			t.Fatal(err)
		}
		for _, fs := range formats {
			f := flowlog.MustFormat(fs)
			line := f.Append(nil, &r1)
			var r2 flowlog.Record
			// Parse decodes tag values in place: parse a copy.
			if err := flowlog.NewParser(f).Parse(bytes.Clone(line), &r2); err != nil {
				t.Fatalf("%q in %q: %v", line, fs, err)
			}
			if a, b := string(f.AppendJSON(nil, &r1)), string(f.AppendJSON(nil, &r2)); a != b {
				t.Errorf("round trip through %q:\n before %s\n after  %s", fs, a, b)
			}
			if again := f.Append(nil, &r2); !bytes.Equal(again, line) {
				t.Errorf("second write differs:\n %s\n %s", line, again)
			}
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		in      string
		header  string
		version int
		notes   []string
		unknown []string
		err     string
	}{
		{in: "${version} ${srcaddr}", header: "version srcaddr", version: 2},
		{in: "version srcaddr tcp-flags", header: "version srcaddr tcp-flags", version: 3},
		{in: "${windowstart} ${windowend} ${flow-log-status}", header: "start end log-status", version: 2,
			notes: []string{"windowstart is an alias: AWS calls this field start", "windowend is an alias: AWS calls this field end", "flow-log-status is an alias: AWS calls this field log-status"}},
		{in: "${srcaddr} ${new-field}", header: "srcaddr new-field", version: 2, unknown: []string{"new-field"}},
		{in: "${ecs-task-id} ${reject-reason}", header: "ecs-task-id reject-reason", version: 8},
		{in: "${tgw-id} ${packets-lost-no-route}", header: "tgw-id packets-lost-no-route", version: 6},
		{in: "", err: "format column 1: empty format: expected at least one field such as ${srcaddr}"},
		{in: "${srcaddr} ${srcaddr}", err: "format column 12: field srcaddr appears twice (first at column 1)"},
		{in: "${srcaddr", err: `format column 1: "${" without a closing "}"`},
		{in: "${srcaddr}x", err: `format column 11: expected a space after ${srcaddr}, found 'x'`},
		{in: "srcaddr d$t", err: `format column 9: invalid field name "d$t": expected letters, digits, '-' or '_'`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			f, err := flowlog.ParseFormat(tt.in)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("got error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := struct {
				Header  string
				Version int
				Notes   []string
				Unknown []string
			}{f.Header(), f.Version(), f.Notes, f.Unknown()}
			want := struct {
				Header  string
				Version int
				Notes   []string
				Unknown []string
			}{tt.header, tt.version, tt.notes, tt.unknown}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestIsHeader(t *testing.T) {
	for line, want := range map[string]bool{
		"version account-id interface-id srcaddr":        true,
		"account-id action az-id bytes\r\n":              true,
		"resource-type tgw-id tgw-attachment-id":         true,
		"instance-id interface-id srcaddr dstaddr":       true,
		"srcaddr new-field":                              true,
		defaultLine:                                      false,
		"- eni-1235b8ca123456789 10.0.1.5 10.0.0.220":    false,
		"eni-1235b8ca123456789 ingress":                  false,
		"version 2":                                      false,
		"":                                               false,
		"Phony unsupported log format.":                  false,
		"region us-east-1":                               true, // all name-shaped: would be a header
		"action ACCEPT":                                  false,
		"TransitGateway 00000000 00000001":               false,
		"windowstart windowend flow-log-status srcaddr ": true,
	} {
		if got := flowlog.IsHeader([]byte(line)); got != want {
			t.Errorf("IsHeader(%q) = %v, want %v", line, got, want)
		}
	}
}

func TestLookup(t *testing.T) {
	for name, want := range map[string]string{
		"srcAddr": "srcaddr", "SRCADDR": "srcaddr", "log_status": "log-status", "logStatus": "log-status",
		"startTime": "start", "endTime": "end", "windowstart": "start", "flowlogstatus": "log-status",
		"pkt-src-aws-service": "pkt-src-aws-service", "pktSrcAwsService": "pkt-src-aws-service", "tcp_flags": "tcp-flags",
	} {
		f, ok := flowlog.Lookup(name)
		if !ok || f.Name != want {
			t.Errorf("Lookup(%q) = %v, %v; want %s", name, f, ok, want)
		}
	}
	if _, ok := flowlog.Lookup("nosuchfield"); ok {
		t.Error("Lookup(nosuchfield) found a field")
	}
	seen := map[string]bool{}
	for _, f := range flowlog.Fields() {
		if f.Description == "" || f.Column == "" || f.Insights == "" || f.Version < 2 || f.Version > 11 {
			t.Errorf("incomplete registry entry %+v", f)
		}
		for _, k := range []string{f.Name, f.Column} {
			if seen[k] && k != f.Name {
				t.Errorf("duplicate name %s", k)
			}
		}
		seen[f.Name] = true
	}
}

func TestScanner(t *testing.T) {
	in := strings.Join([]string{
		"\ufeffversion srcaddr dstaddr action", // header after a UTF-8 byte-order mark
		"2 10.0.0.1 10.0.0.2 ACCEPT",
		"",
		"bogus line",
		`{"message":"2 10.0.0.3 10.0.0.4 REJECT"}`,
		`{"nomessage":1}`,
		"srcaddr action", // a second header (concatenated objects)
		"10.0.0.9 ACCEPT",
		strings.Repeat("x", flowlog.MaxLineBytes+10),
		"10.0.0.10 REJECT",
	}, "\n")
	sc := flowlog.NewScanner(strings.NewReader(in), flowlog.ScanOptions{})
	var got []string
	for {
		rec, err := sc.Next()
		if err == io.EOF {
			break
		}
		var le *flowlog.LineError
		if errors.As(err, &le) {
			msg := le.Error()
			if len(msg) > 80 {
				msg = msg[:80]
			}
			got = append(got, "error "+msg)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if sc.Partial() {
			got = append(got, "partial")
		}
		got = append(got, string(sc.Format().AppendJSON(nil, rec)))
	}
	want := []string{
		`{"version":2,"srcaddr":"10.0.0.1","dstaddr":"10.0.0.2","action":"ACCEPT"}`,
		`error 4: column 1 (version): expected an integer or -, found "bogus"`,
		`{"version":2,"srcaddr":"10.0.0.3","dstaddr":"10.0.0.4","action":"REJECT"}`,
		`error 6: a JSON line without a "message" string`,
		`{"srcaddr":"10.0.0.9","action":"ACCEPT"}`,
		`error 9: line of 1048586 bytes is longer than the 1048576-byte limit for a flow-log re`,
		"partial", // the last line has no line ending
		`{"srcaddr":"10.0.0.10","action":"REJECT"}`,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if sc.Headers() != 2 {
		t.Errorf("headers = %d, want 2", sc.Headers())
	}
}

func TestGuessFormat(t *testing.T) {
	for _, tt := range []struct {
		line string
		n    int
		ok   bool
	}{{defaultLine, 14, true}, {v5Line, 29, true}, {"a b c", 0, false}} {
		f, ok := flowlog.GuessFormat([]byte(tt.line))
		if ok != tt.ok || ok && f.Len() != tt.n {
			t.Errorf("GuessFormat(%.20q) = %v, %v", tt.line, f, ok)
		}
	}
}

func TestParseDoesNotAllocate(t *testing.T) {
	for _, tt := range []struct{ format, line string }{{flowlog.DefaultFormat, defaultLine}, {v5Format, v5Line}} {
		p := flowlog.NewParser(flowlog.MustFormat(tt.format))
		line := []byte(tt.line)
		var r flowlog.Record
		if n := testing.AllocsPerRun(100, func() {
			if err := p.Parse(line, &r); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%d allocations per parse of %.30q, want 0", int(n), tt.line)
		}
	}
}

func BenchmarkParseLine(b *testing.B) {
	for _, bb := range []struct{ name, format, line string }{
		{"default", flowlog.DefaultFormat, defaultLine},
		{"v5-29-fields", v5Format, v5Line},
	} {
		b.Run(bb.name, func(b *testing.B) {
			p := flowlog.NewParser(flowlog.MustFormat(bb.format))
			line := []byte(bb.line)
			var r flowlog.Record
			b.SetBytes(int64(len(line) + 1))
			b.ReportAllocs()
			for b.Loop() {
				if err := p.Parse(line, &r); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

func BenchmarkAppendLine(b *testing.B) {
	f := flowlog.MustFormat(v5Format)
	var r flowlog.Record
	if err := flowlog.NewParser(f).Parse([]byte(v5Line), &r); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = f.Append(buf[:0], &r)
	}
}
