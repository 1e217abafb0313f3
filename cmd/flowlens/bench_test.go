package main

import (
	"encoding/json"
	"testing"
)

// TestBench runs a small bench and checks that every figure is measured and
// every ratio computed.
func TestBench(t *testing.T) {
	benchIngestInChild = false // the test binary is not flowlens
	defer func() { benchIngestInChild = true }()
	code, out, errs := runCLI(t, "", "bench", "--records", "20000", "--runs", "1", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r benchReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("bench -o json: %v\n%s", err, out)
	}
	in := r.Ingest
	for name, v := range map[string]float64{
		"parse records/s": r.Parse.RecordsPerSecond, "ingest records/s": in.RecordsPerSecond,
		"duckdb records/s": in.DuckDBRecordsPerSecond, "speedup": in.SpeedupOverDuckDB,
		"lake/gzip": in.LakeToGzip, "duckdb/gzip": in.DuckDBToGzip, "detect seconds": r.Detect.Seconds,
	} {
		if !(v > 0) {
			t.Errorf("%s = %v, want a measured figure", name, v)
		}
	}
	if r.Records < 20000 || !in.RecordsStoredEqualsInput { // the attacks may add records to a small day
		t.Errorf("records %d, stored all: %v", r.Records, in.RecordsStoredEqualsInput)
	}
	if len(r.Queries) != 6 {
		t.Fatalf("%d queries, want the 6 of the user's guide", len(r.Queries))
	}
	for _, q := range r.Queries {
		if !(q.LakeSeconds > 0 && q.GzipSeconds > 0 && q.PlainSeconds > 0 && q.FasterThanGz > 0 && q.FasterThanPlq > 0) {
			t.Errorf("query %s lacks a figure: %+v", q.Name, q)
		}
	}
	if r.Detect.Rules == 0 {
		t.Error("no detection rules ran")
	}
}
