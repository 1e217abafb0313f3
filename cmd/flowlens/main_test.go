package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// cliMu serialises in-process runs: the CLI keeps its flags in package state.
var cliMu sync.Mutex

// runCLI runs flowlens in-process with the given standard input and returns its
// exit code, standard output and standard error.
func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cliMu.Lock()
	defer cliMu.Unlock()
	var out, errb bytes.Buffer
	oldOut, oldErr, oldIn := g.stdout, g.stderr, os.Stdin
	g.stdout, g.stderr = &out, &errb
	if stdin != "" {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			io.WriteString(w, stdin)
			w.Close()
		}()
		os.Stdin = r
		defer r.Close()
	}
	defer func() { g.stdout, g.stderr, os.Stdin = oldOut, oldErr, oldIn }()
	code = run(context.Background(), args)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func gzipBytes(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	io.WriteString(zw, s)
	zw.Close()
	return b.Bytes()
}

const sampleLines = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n" +
	"2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK\n" +
	"2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA\n"

const v5Line = "5 123456789012 eni-0a1b2c3d4e5f60789 10.0.1.25 52.95.128.179 44312 443 6 52 21480 1616729292 1616729349 ACCEPT OK vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-0c50d5961bcb2d47b 19 IPv4 10.0.1.25 52.95.128.179 us-east-1 use1-az4 - - - S3 egress 8\n"

func TestParseCommand(t *testing.T) {
	gz := gzipBytes(t, sampleLines)
	truncated := gz[:len(gz)-12]
	junk := make([]byte, 4096)
	for i := range junk {
		junk[i] = byte(i*7 + i/13)
	}
	longLine := strings.Repeat("9", 10<<20) + "\n" + strings.SplitN(sampleLines, "\n", 3)[1] + "\n"

	tests := []struct {
		name       string
		args       []string
		stdin      string
		code       int
		outLines   int
		outHas     string
		errHas     []string
		errNotHave string
	}{
		{name: "plain file", args: []string{"parse", writeFile(t, "a.log", []byte(sampleLines))}, code: 0, outLines: 2,
			outHas: `{"version":2,"account_id":"123456789010","interface_id":"eni-1235b8ca123456789","srcaddr":"172.31.16.139","dstaddr":"172.31.16.21","srcport":20641,"dstport":22,"protocol":6,"packets":20,"bytes":4249,"start":1418530010,"end":1418530070,"action":"ACCEPT","log_status":"OK"}`},
		{name: "gzip told by magic bytes, not name", args: []string{"parse", writeFile(t, "a.txt", gz)}, code: 0, outLines: 2},
		{name: "stdin", args: []string{"parse"}, stdin: sampleLines, code: 0, outLines: 2},
		{name: "stdin dash with custom format", args: []string{"parse", "--format", "${srcaddr} ${dstport}", "-"}, stdin: "10.0.0.1 443\n", code: 0, outLines: 1,
			outHas: `{"srcaddr":"10.0.0.1","dstport":443}`},
		{name: "alias note", args: []string{"parse", "--format", "${windowstart} ${windowend} ${flow-log-status}"}, stdin: "1 2 OK\n", code: 0, outLines: 1,
			errHas: []string{"note: windowstart is an alias: AWS calls this field start", "note: flow-log-status is an alias: AWS calls this field log-status"}},
		{name: "empty file", args: []string{"parse", writeFile(t, "empty.log", nil)}, code: 0, outLines: 0},
		{name: "binary junk", args: []string{"parse", writeFile(t, "junk.bin", junk)}, code: 3, outLines: 0, errHas: []string{"junk.bin:1: "}},
		{name: "truncated gzip", args: []string{"parse", writeFile(t, "cut.log.gz", truncated)}, code: 1, outLines: 2, errHas: []string{"truncated gzip stream"}},
		{name: "10 MB line", args: []string{"parse", writeFile(t, "long.log", []byte(longLine))}, code: 3, outLines: 1,
			errHas: []string{"long.log:1: line of 10485760 bytes is longer than the 1048576-byte limit"}},
		{name: "bad line reported with file and line", args: []string{"parse", writeFile(t, "bad.log", []byte(sampleLines+"2 x\n"))}, code: 3, outLines: 2,
			errHas: []string{"bad.log:4: column 4 (interface-id): 2 values, but the format has 14 fields (missing interface-id)"}},
		{name: "missing file", args: []string{"parse", "/nonexistent/x.log"}, code: 1, errHas: []string{"no such file"}},
		{name: "--format v5 is every field of versions 2 to 5, as in gen", args: []string{"parse", "--format", "v5"}, stdin: v5Line, code: 0, outLines: 1,
			outHas: `"flow_direction":"egress","traffic_path":8}`},
		{name: "ingest --format v5", args: []string{"--data", t.TempDir(), "ingest", "--format", "v5", "-"}, stdin: v5Line, code: 0, outLines: 2,
			outHas: "read 1 = stored 1 + quarantined 0 + already ingested 0"},
		{name: "unknown field in --format gets a note", args: []string{"parse", "--format", "${srcadr} ${dstport}"}, stdin: "10.0.0.1 443\n", code: 0, outLines: 1,
			errHas: []string{"note: --format: srcadr is not a field flowlens knows (flowlens fields lists them): its values are kept as text"}},
		{name: "--format v6 is no VPC flow-log version", args: []string{"parse", "--format", "v6"}, code: 2, errHas: []string{"--format: no VPC flow-log version 6: expected 2 to 5 or 7 to 11"}},
		{name: "bad format flag is a usage error", args: []string{"parse", "--format", "${srcaddr"}, code: 2, errHas: []string{`--format: format column 1: "${" without a closing "}"`}},
		{name: "unknown flag is a usage error", args: []string{"parse", "--nope"}, code: 2, errHas: []string{"unknown flag: --nope"}},
		{name: "query starting with a SQL comment", args: []string{"query", "-- top\nSELECT 1"}, code: 2,
			errHas: []string{"unknown flag: -- top", "put -- before it (flowlens query -- '-- …')"}},
		{name: "bad output format", args: []string{"fields", "-o", "xml"}, code: 2, errHas: []string{`-o: "xml" is not one of table, csv, json, ndjson`}},
		{name: "fields json", args: []string{"fields", "-o", "json"}, code: 0, outLines: 1, outHas: `["log-status","log_status","logStatus",2,"VARCHAR"`},
		{name: "fields csv", args: []string{"fields", "-o", "csv"}, code: 0, outHas: "tcp-flags,tcp_flags,tcpFlags,3,INTEGER,"},
		{name: "version", args: []string{"version"}, code: 0, outLines: 1, outHas: "flowlens "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tt.stdin, tt.args...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d\nstderr: %.500s", code, tt.code, errs)
			}
			if tt.outLines >= 0 && tt.name != "fields csv" {
				if n := strings.Count(out, "\n"); n != tt.outLines {
					t.Errorf("%d output lines, want %d:\n%.1000s", n, tt.outLines, out)
				}
			}
			if tt.outHas != "" && !strings.Contains(out, tt.outHas) {
				t.Errorf("stdout lacks %q:\n%.1000s", tt.outHas, out)
			}
			for _, e := range tt.errHas {
				if !strings.Contains(errs, e) {
					t.Errorf("stderr lacks %q:\n%.1000s", e, errs)
				}
			}
		})
	}
}

// TestParseExternalSamples runs `flowlens parse` on every external sample and
// checks the number of records and rejected lines each must give.
func TestParseExternalSamples(t *testing.T) {
	const ext = "../../../shared/testdata/external"
	if _, err := os.Stat(ext); err != nil {
		t.Skipf("external test data absent: %v", err)
	}
	tests := []struct {
		file     string
		format   string
		records  int
		rejected int
	}{
		{"vpcflow_aws_docs/aws-doc-default-format.log", "", 7, 0},
		{"vpcflow_aws_docs/aws-doc-tcp-flag-sequence.log", "", 8, 0},
		{"vpcflow_aws_docs/aws-doc-nat-gateway.log", "", 6, 0},
		{"vpcflow_aws_docs/aws-doc-transit-gateway.log", "", 4, 0},
		{"vpcflow_aws_docs/aws-doc-v5-traffic-path.log", "", 2, 0},
		{"vpcflow_elastic_beats/accept-reject-traffic.log", "", 4, 0},
		{"vpcflow_elastic_beats/bad.log", "", 0, 1},
		{"vpcflow_elastic_beats/custom-nat-gateway.log", "", 2, 0},
		{"vpcflow_elastic_beats/custom-transit-gateway.log", "auto", 1, 0},
		{"vpcflow_elastic_beats/ipv6.log", "", 1, 0},
		{"vpcflow_elastic_beats/no-data-skip-data.log", "", 2, 0},
		{"vpcflow_elastic_beats/tcp-flag-sequence.log", "", 3, 0},
		{"vpcflow_elastic_beats/tcp-flag-sequence-skip-data.log", "", 2, 0},
		{"vpcflow_elastic_integrations/test-ecs-samples.log", "auto", 10, 0},
		{"vpcflow_elastic_integrations/test-extra-samples.log", "", 7, 0},
		{"vpcflow_elastic_integrations/test-tcp-flag-sequence.log", "", 3, 0},
		{"vpcflow_elastic_integrations/test-tgw-samples.log", "auto", 10, 0},
		{"vpcflow_elastic_integrations/test-v5-all-fields.log", "auto", 1, 0},
		{"vpcflow_elastic_integrations/test-v8-samples.log", "auto", 1, 0},
		{"vpcflow_elastic_integrations/test-with-message-field.log", "", 1, 0},
		{"vpcflow_flowlogs_reader/v2_records.log", "", 5, 0},
		{"vpcflow_flowlogs_reader/v3_s3_with_header.log", "", 2, 0},
		{"vpcflow_flowlogs_reader/v4_s3_with_header.log", "", 2, 0},
		{"vpcflow_flowlogs_reader/v5_s3_with_header.log", "", 2, 1},
		{"vpcflow_flowlogs_reader/v6_s3_with_header.log", "", 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			args := []string{"parse", filepath.Join(ext, tt.file)}
			if tt.format != "" {
				args = append(args, "--format", tt.format)
			}
			code, out, errs := runCLI(t, "", args...)
			want := 0
			if tt.rejected > 0 {
				want = 3
			}
			if code != want {
				t.Errorf("exit %d, want %d: %s", code, want, errs)
			}
			if n := strings.Count(out, "\n"); n != tt.records {
				t.Errorf("%d records, want %d", n, tt.records)
			}
			if n := len(regexp.MustCompile(regexp.QuoteMeta(tt.file)+`:\d+: `).FindAllString(errs, -1)); n != tt.rejected {
				t.Errorf("%d rejected lines, want %d:\n%s", n, tt.rejected, errs)
			}
		})
	}
}

func TestInterruptedExitCode(t *testing.T) {
	// A command that fails because the signal context ended exits 130, as a
	// shell reports a command killed by SIGINT; one that is not interrupted
	// keeps its own code.
	lines := writeFile(t, "flows.log", []byte(sampleLines))
	cliMu.Lock()
	defer cliMu.Unlock()
	var out, errb bytes.Buffer
	oldOut, oldErr := g.stdout, g.stderr
	g.stdout, g.stderr = &out, &errb
	defer func() { g.stdout, g.stderr = oldOut, oldErr }()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if code := run(ctx, []string{"ingest", "--data", t.TempDir(), lines}); code != exitInterrupted {
		t.Errorf("interrupted ingest: exit %d, want %d; stderr:\n%s", code, exitInterrupted, errb.String())
	}
	if !strings.Contains(errb.String(), "flowlens: interrupted: ") {
		t.Errorf("stderr does not say the command was interrupted:\n%s", errb.String())
	}
	if code := run(ctx, []string{"version"}); code != exitOK {
		t.Errorf("a command that finishes despite the signal: exit %d, want 0", code)
	}
}
