package flowlog_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/google/go-cmp/cmp"
)

// external is the shared folder of externally written samples and expected results.
const external = "../../shared/testdata/external"

func externalDir(t *testing.T, sub string) string {
	t.Helper()
	dir := filepath.Join(external, sub)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("external test data absent (%s): %v", dir, err)
	}
	return dir
}

// parsed is one record of a file as column → value text (nil for null), plus
// the number of lines rejected.
type parsedFile struct {
	records  []map[string]any
	rejected []string
}

func parseFile(t *testing.T, path string, format string) parsedFile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var o flowlog.ScanOptions
	switch format {
	case "":
	case "auto":
		o.Guess = true
	default:
		o.Format = flowlog.MustFormat(format)
	}
	sc := flowlog.NewScanner(f, o)
	var out parsedFile
	for {
		rec, err := sc.Next()
		var le *flowlog.LineError
		switch {
		case err == nil:
			m := map[string]any{}
			if err := json.Unmarshal(sc.Format().AppendJSON(nil, rec), &m); err != nil {
				t.Fatalf("%s:%d: AppendJSON gave invalid JSON: %v", path, sc.Line(), err)
			}
			out.records = append(out.records, m)
		case errors.As(err, &le):
			out.rejected = append(out.rejected, le.Error())
		case err == io.EOF:
			return out
		default:
			t.Fatalf("%s: %v", path, err)
		}
	}
}

func loadJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// text renders a parsed value the way the expected files write values.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case float64:
		return strconv.FormatInt(int64(x), 10)
	case string:
		return x
	}
	return fmt.Sprint(v)
}

func unixRFC3339(v any) string {
	n, ok := v.(float64)
	if !ok {
		return fmt.Sprintf("<%v>", v)
	}
	return time.Unix(int64(n), 0).UTC().Format(time.RFC3339)
}

// TestAWSDocExamples checks every record of AWS's documentation against the
// field values AWS documents for it.
func TestAWSDocExamples(t *testing.T) {
	dir := externalDir(t, "vpcflow_aws_docs")
	var exp struct {
		Files map[string]struct {
			HasHeader  bool     `json:"has_header_line"`
			FieldOrder []string `json:"field_order"`
			Records    []struct {
				Line   string            `json:"line"`
				Fields map[string]string `json:"fields"`
			} `json:"records"`
		} `json:"files"`
	}
	loadJSON(t, filepath.Join(dir, "aws-doc-examples-expected.json"), &exp)
	for name, file := range exp.Files {
		t.Run(name, func(t *testing.T) {
			format := ""
			if !file.HasHeader {
				format = strings.Join(file.FieldOrder, " ")
			}
			got := parseFile(t, filepath.Join(dir, name), format)
			if len(got.rejected) > 0 {
				t.Errorf("rejected lines: %v", got.rejected)
			}
			if len(got.records) != len(file.Records) {
				t.Fatalf("got %d records, want %d", len(got.records), len(file.Records))
			}
			for i, want := range file.Records {
				gotText := map[string]string{}
				for k, v := range got.records[i] {
					gotText[strings.ReplaceAll(k, "_", "-")] = text(v)
				}
				if d := cmp.Diff(want.Fields, gotText); d != "" {
					t.Errorf("record %d (%s) mismatch (-want +got):\n%s", i+1, want.Line, d)
				}
			}
		})
	}
}

// headerless gives the format of sample files that carry no header line, as the
// tests that wrote them configured their parsers.
var headerless = map[string]string{
	"custom-transit-gateway.log": "version interface-id account-id vpc-id subnet-id instance-id srcaddr dstaddr srcport dstport protocol tcp-flags type pkt-srcaddr pkt-dstaddr action log-status",
	"test-ecs-samples.log":       "auto",
	"test-tgw-samples.log":       "auto",
	"test-v5-all-fields.log":     "auto",
	"test-v8-samples.log":        "auto",
}

// flatten turns nested expected documents into dotted keys.
func flatten(prefix string, v any, out map[string]any) {
	m, ok := v.(map[string]any)
	if !ok {
		out[prefix] = v
		return
	}
	for k, x := range m {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		flatten(key, x, out)
	}
}

// TestElasticSamples checks Filebeat's and Elastic Agent's test logs against the
// documents they expect: every aws.vpcflow.* value we also have, the ports and
// addresses, and event.start/end (@timestamp is the record's end).
func TestElasticSamples(t *testing.T) {
	for _, sub := range []string{"vpcflow_elastic_beats", "vpcflow_elastic_integrations"} {
		dir := externalDir(t, sub)
		logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
		for _, logPath := range logs {
			name := filepath.Base(logPath)
			t.Run(sub+"/"+name, func(t *testing.T) {
				expPath := logPath + "-expected.json"
				if _, err := os.Stat(expPath); err != nil {
					expPath = logPath + "-expected.reduced.json"
				}
				var raw any
				loadJSON(t, expPath, &raw)
				var docs []any
				switch x := raw.(type) {
				case []any:
					docs = x
				case map[string]any:
					docs, _ = x["expected"].([]any)
				}
				got := parseFile(t, logPath, headerless[name])
				if name == "bad.log" {
					// Filebeat emits a document with no network fields; we reject the line.
					if len(got.records) != 0 || len(got.rejected) != 1 {
						t.Fatalf("bad.log: got %d records, %d rejected; want 0 and 1", len(got.records), len(got.rejected))
					}
					return
				}
				if len(got.rejected) > 0 {
					t.Errorf("rejected lines: %v", got.rejected)
				}
				if len(got.records) != len(docs) {
					t.Fatalf("got %d records, want %d", len(got.records), len(docs))
				}
				for i, d := range docs {
					want := map[string]any{}
					flatten("", d, want)
					checkElasticDoc(t, i, want, got.records[i])
				}
			})
		}
	}
}

func checkElasticDoc(t *testing.T, i int, want, got map[string]any) {
	t.Helper()
	compared := 0
	for k, wv := range want {
		col, ok := strings.CutPrefix(k, "aws.vpcflow.")
		if !ok {
			continue
		}
		if _, known := flowlog.Lookup(col); !known || col == "tcp_flags_array" {
			continue
		}
		gv, present := got[col]
		if !present {
			continue // Elastic renames some fields (pkt_src_service); only ours are compared
		}
		compared++
		if text(wv) != text(gv) {
			t.Errorf("record %d: %s = %s, want %s", i+1, col, text(gv), text(wv))
		}
	}
	pairs := map[string]string{"source.port": "srcport", "destination.port": "dstport", "source.address": "srcaddr", "destination.address": "dstaddr"}
	for ek, col := range pairs {
		if wv, ok := want[ek]; ok {
			compared++
			if text(wv) != text(got[col]) {
				t.Errorf("record %d: %s = %s, want %s (%s)", i+1, col, text(got[col]), text(wv), ek)
			}
		}
	}
	for ek, col := range map[string]string{"event.start": "start", "event.end": "end", "@timestamp": "end"} {
		wv, ok := want[ek].(string)
		if !ok {
			continue
		}
		wt, err := time.Parse(time.RFC3339, wv)
		if err != nil {
			t.Fatalf("record %d: %s: %v", i+1, ek, err)
		}
		compared++
		if g := unixRFC3339(got[col]); g != wt.UTC().Format(time.RFC3339) {
			t.Errorf("record %d: %s = %s, want %s (%s)", i+1, col, g, wt.UTC().Format(time.RFC3339), ek)
		}
	}
	if compared == 0 {
		t.Errorf("record %d: nothing compared", i+1)
	}
}

// TestFlowlogsReaderCases checks the records flowlogs-reader's tests expect from
// its S3 files (v2–v6, the bogus line skipped, millisecond timestamps).
func TestFlowlogsReaderCases(t *testing.T) {
	dir := externalDir(t, "vpcflow_flowlogs_reader")
	var exp struct {
		Cases []struct {
			Test     string `json:"test"`
			Input    string `json:"input"`
			Expected any    `json:"expected"`
		} `json:"cases"`
	}
	loadJSON(t, filepath.Join(dir, "flowlogs_reader_expected.json"), &exp)
	checked := 0
	for _, c := range exp.Cases {
		file, _, _ := strings.Cut(c.Input, " ")
		if !strings.HasSuffix(file, ".log") || strings.HasPrefix(c.Test, "Aggregation") {
			continue // parquet objects and aggregation belong to ingest and query tests
		}
		t.Run(c.Test, func(t *testing.T) {
			got := parseFile(t, filepath.Join(dir, file), "")
			var wants []map[string]any
			switch x := c.Expected.(type) {
			case []any:
				for _, w := range x {
					wants = append(wants, w.(map[string]any))
				}
			case map[string]any:
				var line int
				if _, err := fmt.Sscanf(c.Input[strings.Index(c.Input, "line"):], "line %d", &line); err != nil {
					t.Fatalf("input %q: %v", c.Input, err)
				}
				got.records = got.records[line-1 : line]
				wants = []map[string]any{x}
			}
			if strings.Contains(c.Input, "bogus line") && len(got.rejected) != 1 {
				t.Errorf("want the bogus line rejected, got %v", got.rejected)
			}
			if len(got.records) != len(wants) {
				t.Fatalf("got %d records, want %d", len(got.records), len(wants))
			}
			for i, w := range wants {
				for k, wv := range w {
					gv := got.records[i][k]
					if k == "start" || k == "end" {
						if g := unixRFC3339(gv); g != wv {
							t.Errorf("record %d: %s = %s, want %v", i+1, k, g, wv)
						}
						continue
					}
					if text(gv) != text(wv) {
						t.Errorf("record %d: %s = %s, want %s", i+1, k, text(gv), text(wv))
					}
				}
				for k, gv := range got.records[i] {
					if _, ok := w[k]; !ok && gv != nil {
						t.Errorf("record %d: %s = %v is not expected (flowlogs-reader omits only '-' fields)", i+1, k, gv)
					}
				}
			}
			checked++
		})
	}
	if checked == 0 {
		t.Fatal("no case checked")
	}
}

// TestVectorCases checks Vector's parse_aws_vpc_flow_log examples, whose format
// strings use column names.
func TestVectorCases(t *testing.T) {
	dir := externalDir(t, "vpcflow_vector_vrl")
	var exp struct {
		Cases []struct {
			Name     string         `json:"name"`
			Format   *string        `json:"format"`
			Input    string         `json:"input"`
			Expected map[string]any `json:"expected"`
		} `json:"cases"`
	}
	loadJSON(t, filepath.Join(dir, "vrl_parse_aws_vpc_flow_log_cases.json"), &exp)
	for _, c := range exp.Cases {
		t.Run(c.Name, func(t *testing.T) {
			f := flowlog.Default()
			if c.Format != nil {
				f = flowlog.MustFormat(*c.Format)
			}
			var r flowlog.Record
			if err := flowlog.NewParser(f).Parse([]byte(c.Input), &r); err != nil {
				t.Fatal(err)
			}
			got := map[string]any{}
			if err := json.Unmarshal(f.AppendJSON(nil, &r), &got); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(c.Expected, got); d != "" {
				t.Errorf("mismatch (-want +got):\n%s", d)
			}
		})
	}
}
