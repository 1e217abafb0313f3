package main

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestWriteResultValues(t *testing.T) {
	ts := time.Date(2024, 3, 1, 12, 0, 1, 500_000_000, time.UTC)
	sum := 0.1 // 0.1 + 0.2 at run time, not folded into the constant 0.3
	sum += 0.2
	rs := &resultSet{
		Columns: []string{"a", "f", "tiny", "t", "l", "a"},
		Rows: [][]any{
			{int64(1), sum, 0.00001, ts, []any{int64(1), "x", ts, math.NaN()}, map[string]any{"k": int64(2)}},
			{nil, 1234.5, -2.5e-7, ts.Truncate(time.Second), []any{}, nil},
		},
	}
	tests := []struct {
		format, want string
	}{
		{"csv", `a,f,tiny,t,l,a
1,0.30000000000000004,0.00001,2024-03-01T12:00:01.5Z,"[1,""x"",""2024-03-01T12:00:01.5Z"",null]","{""k"":2}"
,1234.5,-2.5e-07,2024-03-01T12:00:01Z,[],
`},
		{"ndjson", `{"a":1,"f":0.30000000000000004,"tiny":0.00001,"t":"2024-03-01T12:00:01.5Z","l":[1,"x","2024-03-01T12:00:01.5Z",null],"a_1":{"k":2}}
{"a":null,"f":1234.5,"tiny":-2.5e-7,"t":"2024-03-01T12:00:01Z","l":[],"a_1":null}
`},
		{"json", `{"columns":["a","f","tiny","t","l","a"],"rows":[[1,0.30000000000000004,0.00001,"2024-03-01T12:00:01.5Z",[1,"x","2024-03-01T12:00:01.5Z",null],{"k":2}],[null,1234.5,-2.5e-7,"2024-03-01T12:00:01Z",[],null]]}
`},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			var b bytes.Buffer
			if err := writeResult(&b, tt.format, rs); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, b.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	t.Run("table", func(t *testing.T) {
		var b bytes.Buffer
		if err := writeResult(&b, "table", rs); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"0.3000", "1e-05", "-2.5e-07", "1234.5000", "2024-03-01T12:00:01.5Z", `[1,"x","2024-03-01T12:00:01.5Z",null]`, `{"k":2}`} {
			if !strings.Contains(b.String(), want) {
				t.Errorf("the table lacks %q:\n%s", want, b.String())
			}
		}
	})
}

func TestUniqueKeys(t *testing.T) {
	tests := []struct{ in, want []string }{
		{[]string{"a", "b"}, []string{"a", "b"}},
		{[]string{"a", "a", "a"}, []string{"a", "a_1", "a_2"}},
		{[]string{"a", "a", "a_1"}, []string{"a", "a_2", "a_1"}},
		{[]string{"count_star()", "count_star()"}, []string{"count_star()", "count_star()_1"}},
	}
	for _, tt := range tests {
		if got := uniqueKeys(tt.in); !cmp.Equal(got, tt.want) {
			t.Errorf("uniqueKeys(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestWriteTable(t *testing.T) {
	rs := &resultSet{
		Columns: []string{"n", "text", "where"},
		Rows: [][]any{
			{int64(1), "a\nb\tc", "東京"},
			{int64(22), nil, "x"},
		},
	}
	want := `┌────┬─────────┬───────┐
│ n  │ text    │ where │
├────┼─────────┼───────┤
│  1 │ a\nb\tc │ 東京  │
│ 22 │ -       │ x     │
└────┴─────────┴───────┘
`
	var b bytes.Buffer
	if err := writeResult(&b, "table", rs); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// No rows: the header alone.
	b.Reset()
	if err := writeResult(&b, "table", &resultSet{Columns: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	if want := "┌───┐\n│ a │\n├───┤\n└───┘\n"; b.String() != want {
		t.Errorf("empty table:\n%s\nwant:\n%s", b.String(), want)
	}
}

// TestFormatFloat: the table rounds to 4 decimals, shows tiny magnitudes
// with 4 significant digits, and huge ones in exponent notation rather than
// hundreds of digits that no double holds.
func TestFormatFloat(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{3, "3"},
		{-2.5, "-2.5000"},
		{1.0 / 3, "0.3333"},
		{0.00001, "1e-05"},
		{1e14, "100000000000000"},
		{123456789012345678, "123456789012345680.0000"},
		{1e21, "1e+21"},
		{-1.5e300, "-1.5e+300"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{math.Inf(1), "+Inf"},
		{math.NaN(), "NaN"},
	}
	for _, tt := range tests {
		if got := formatFloat(tt.in); got != tt.want {
			t.Errorf("formatFloat(%g) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestFieldsRanges: flowlens fields shows the legal range of the fields that
// have one, and null for the others.
func TestFieldsRanges(t *testing.T) {
	code, out, errs := runCLI(t, "", "fields", "-o", "ndjson")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	got := map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var row map[string]any
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		got[row["name"].(string)] = row["range"]
	}
	for name, want := range map[string]any{"dstport": "0–65535", "protocol": "0–255", "bytes": "0 or more", "version": "2–11", "srcaddr": nil} {
		if got[name] != want {
			t.Errorf("%s: range %v, want %v", name, got[name], want)
		}
	}
}
