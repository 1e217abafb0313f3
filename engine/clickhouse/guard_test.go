package clickhouse

import (
	"math/big"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/engine"
)

func TestParseDSN(t *testing.T) {
	tests := []struct {
		dsn, url, user, password, db, err string
	}{
		{dsn: "clickhouse://127.0.0.1", url: "http://127.0.0.1:8123/", user: "default", db: "default"},
		{dsn: "clickhouse://bob:s3cret@ch.local:18123/flows", url: "http://ch.local:18123/", user: "bob", password: "s3cret", db: "flows"},
		{dsn: "clickhouse://ch.local/flows?secure=true", url: "https://ch.local:8123/", user: "default", db: "flows"},
		{dsn: "https://ch.local:8443/", url: "https://ch.local:8443/", user: "default", db: "default"},
		{dsn: "clickhouse://bob:s3cret@ch.local/a-b", err: `parse clickhouse url "clickhouse://bob:xxxxx@ch.local/a-b": database "a-b": use letters, digits and _ only`},
		{dsn: "ftp://ch.local", err: `parse clickhouse url "ftp://ch.local": the scheme must be clickhouse, http or https`},
	}
	for _, tt := range tests {
		c, err := ParseDSN(tt.dsn)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("%s: error %v, want %s", tt.dsn, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.dsn, err)
		}
		got := []string{c.URL(), c.user, c.password, c.Database()}
		if d := cmp.Diff([]string{tt.url, tt.user, tt.password, tt.db}, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", tt.dsn, d)
		}
	}
}

func TestServerError(t *testing.T) {
	tests := []struct {
		body string
		want ServerError
	}{
		{"Code: 62, e.displayText() = DB::Exception: Syntax error: failed at position 16: x. Expected one of: FROM, e.what() = DB::Exception\n",
			ServerError{Status: 500, Code: 62, Msg: "Syntax error: failed at position 16: x. Expected one of: FROM", Pos: 15}},
		{"Code: 164, e.displayText() = DB::Exception: Table functions are forbidden in readonly mode, e.what() = DB::Exception\n",
			ServerError{Status: 500, Code: 164, Msg: "Table functions are forbidden in readonly mode", Pos: -1}},
		{"Bad Gateway", ServerError{Status: 500, Msg: "Bad Gateway", Pos: -1}},
	}
	for _, tt := range tests {
		if d := cmp.Diff(tt.want, *parseServerError(500, tt.body)); d != "" {
			t.Errorf("%q (-want +got):\n%s", tt.body, d)
		}
	}
}

func TestTabSeparatedValues(t *testing.T) {
	tests := []struct {
		text, typ string
		want      any
	}{
		{`\N`, "Nullable(String)", nil},
		{`a\tb\\c\nd`, "String", "a\tb\\c\nd"},
		{"-5", "Nullable(Int32)", int64(-5)},
		{"18446744073709551615", "UInt64", "18446744073709551615"},
		{"2024-03-01 10:00:00", "DateTime", "2024-03-01T10:00:00Z"},
		{"2024-03-01 11:00:00", "DateTime('Europe/Paris')", "2024-03-01T10:00:00Z"},
		{"2024-03-01", "Date", "2024-03-01"},
		{"1.5", "Float64", 1.5},
		{`\N`, "Nullable(Nothing)", nil},
	}
	for _, tt := range tests {
		got, err := value(tt.text, tt.typ, nil)
		if err != nil {
			t.Fatalf("%s %s: %v", tt.text, tt.typ, err)
		}
		switch g := got.(type) {
		case time.Time:
			got = g.Format(time.RFC3339)
		case *big.Int:
			got = g.String()
		}
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("%s %s (-want +got):\n%s", tt.text, tt.typ, d)
		}
	}
	for _, s := range []string{"plain", "tab\there", "back\\slash", "nl\nand\rcr", "nul\x00"} {
		if got := unescape(string(AppendEscaped(nil, s))); got != s {
			t.Errorf("escape round trip of %q: %q", s, got)
		}
	}
}

// FuzzCheckStatement: the statement check never panics, and the errors it
// gives point inside the query.
func FuzzCheckStatement(f *testing.F) {
	for _, s := range []string{"SELECT 1", "SELECT 1; DROP TABLE t", "SELECT * FROM file('x')", "WITH 1 AS x SELECT x SETTINGS a=1",
		"SELECT 'it\\'s', `a``b`, \"c\" -- x\n/* y", "((SELECT 1", "SELECT 1 INTO OUTFILE 'f' FORMAT TSV"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		err := CheckStatement(q)
		if err == nil {
			return
		}
		qe := engine.AsError(err)
		if qe == nil {
			t.Fatalf("%q: error %v is not an *engine.Error", q, err)
		}
		if qe.Pos < -1 || qe.Pos > len(q) {
			t.Fatalf("%q: position %d outside the query", q, qe.Pos)
		}
	})
}
