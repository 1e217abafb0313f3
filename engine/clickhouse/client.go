package clickhouse

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Client talks to ClickHouse's HTTP interface: statements go in the request
// body, settings in the URL, results come back as TabSeparatedWithNamesAndTypes
// and inserts send TabSeparated rows. It is the one transport of this package,
// because the native protocol of clickhouse-go v2 (v2.51) cannot insert into
// ClickHouse 18.16 and its HTTP mode sends a setting 18.16 does not know (see
// docs/clickhouse.md).
type Client struct {
	base     *url.URL // scheme, host and path; no query
	user     string
	password string
	database string
	http     *http.Client
	loc      *time.Location // the server's time zone, once known
}

// ParseDSN reads an engine spec: clickhouse://user:password@host:port/database
// (or http://…, https://…). The port is that of ClickHouse's HTTP interface,
// 8123 by default; clickhouse:// talks plain HTTP, and ?secure=true HTTPS. The
// database defaults to "default".
func ParseDSN(dsn string) (*Client, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse clickhouse url: %w", err)
	}
	c := &Client{database: "default", user: "default", http: &http.Client{}}
	base := &url.URL{Scheme: "http", Host: u.Host, Path: "/"}
	switch u.Scheme {
	case "clickhouse", "http":
		if u.Query().Get("secure") == "true" {
			base.Scheme = "https"
		}
	case "https":
		base.Scheme = "https"
	default:
		return nil, fmt.Errorf("parse clickhouse url %q: the scheme must be clickhouse, http or https", redact(u))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("parse clickhouse url %q: no host", redact(u))
	}
	if u.Port() == "" {
		base.Host = u.Host + ":8123"
	}
	if u.User != nil {
		c.user = u.User.Username()
		c.password, _ = u.User.Password()
	}
	if db := strings.Trim(u.Path, "/"); db != "" {
		if !identRE.MatchString(db) {
			return nil, fmt.Errorf("parse clickhouse url %q: database %q: use letters, digits and _ only", redact(u), db)
		}
		c.database = db
	}
	c.base = base
	return c, nil
}

// redact hides the password of u in messages.
func redact(u *url.URL) string {
	if _, ok := u.User.Password(); ok {
		v := *u
		v.User = url.UserPassword(u.User.Username(), "xxxxx")
		return v.String()
	}
	return u.String()
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Database is the database the client works in.
func (c *Client) Database() string { return c.database }

// URL is the server's address, without credentials.
func (c *Client) URL() string { return c.base.String() }

// Setting is one ClickHouse setting sent with a request.
type Setting struct{ Name, Value string }

// do sends one statement with a body (nil for none) and returns the response
// whose status is 200; other statuses become a *ServerError.
func (c *Client) do(ctx context.Context, query string, body io.Reader, settings []Setting) (*http.Response, error) {
	var params []string
	add := func(k, val string) { params = append(params, url.QueryEscape(k)+"="+url.QueryEscape(val)) }
	if c.database != "" {
		add("database", c.database)
	}
	if body != nil {
		add("query", query)
	}
	for _, s := range settings {
		add(s.Name, s.Value)
	}
	u := *c.base
	// Settings apply in their order: callers put readonly last so that the
	// ones before it may still be set.
	u.RawQuery = strings.Join(params, "&")
	reqBody := body
	if body == nil {
		reqBody = strings.NewReader(query)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), reqBody)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-ClickHouse-User", c.user)
	if c.password != "" {
		req.Header.Set("X-ClickHouse-Key", c.password)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return nil, parseServerError(resp.StatusCode, string(b))
	}
	return resp, nil
}

// Exec runs a statement that returns nothing of interest.
func (c *Client) Exec(ctx context.Context, query string, settings ...Setting) error {
	resp, err := c.do(ctx, query, nil, settings)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// Insert sends rows (TabSeparated text, one row per line, with the columns
// in order) to table, a name quoted with QuoteIdent (and its database).
// One request is one insert: ClickHouse writes a block of up to
// max_insert_block_size rows atomically.
func (c *Client) Insert(ctx context.Context, table string, columns []string, rows io.Reader) error {
	q := make([]string, len(columns))
	for i, col := range columns {
		q[i] = QuoteIdent(col)
	}
	query := "INSERT INTO " + table + " (" + strings.Join(q, ", ") + ") FORMAT TabSeparated"
	resp, err := c.do(ctx, query, rows, nil)
	if err != nil {
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// Rows reads a TabSeparatedWithNamesAndTypes result as it arrives.
type Rows struct {
	loc   *time.Location // of DateTime values without a zone of their own
	resp  *http.Response
	r     *bufio.Reader
	Names []string
	Types []string
	line  int
}

// Query runs a SELECT and returns its rows; the caller closes them. A query
// id is sent so that Kill can stop it.
func (c *Client) Query(ctx context.Context, query string, settings ...Setting) (*Rows, error) {
	resp, err := c.do(ctx, query+"\nFORMAT TabSeparatedWithNamesAndTypes", nil, settings)
	if err != nil {
		return nil, err
	}
	rs := &Rows{resp: resp, r: bufio.NewReaderSize(resp.Body, 256<<10)}
	names, err := rs.fields()
	if err == nil {
		rs.Names = names
		rs.Types, err = rs.fields()
	}
	if err != nil {
		resp.Body.Close()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read the result header: the server sent no column names")
		}
		return nil, err
	}
	for i := range rs.Names {
		rs.Names[i] = unescape(rs.Names[i])
	}
	for i := range rs.Types {
		rs.Types[i] = unescape(rs.Types[i])
	}
	rs.loc = c.loc
	return rs, nil
}

// fields reads one line of tab-separated fields, still escaped. ClickHouse
// reports an error that happens after the result started inside the body, as
// a line "Code: N, e.displayText() = …": that comes back as a *ServerError.
func (rs *Rows) fields() ([]string, error) {
	line, err := rs.r.ReadString('\n')
	if err != nil {
		if err == io.EOF && line == "" {
			return nil, io.EOF
		}
		if err == io.EOF {
			if e := parseServerError(0, line); e.Code != 0 {
				return nil, e
			}
			return nil, fmt.Errorf("read result: the last row has no line end: %q", line)
		}
		return nil, err
	}
	rs.line++
	line = strings.TrimSuffix(line, "\n")
	if strings.HasPrefix(line, "Code: ") {
		if e := parseServerError(0, line+"\n"+rs.rest()); e.Code != 0 {
			return nil, e
		}
	}
	return strings.Split(line, "\t"), nil
}

func (rs *Rows) rest() string {
	b, _ := io.ReadAll(io.LimitReader(rs.r, 1<<16))
	return string(b)
}

// Next reads the next row as Result values, or io.EOF after the last.
func (rs *Rows) Next() ([]any, error) {
	f, err := rs.fields()
	if err != nil {
		return nil, err
	}
	if len(f) != len(rs.Types) {
		if e := parseServerError(0, strings.Join(f, "\t")+"\n"+rs.rest()); e.Code != 0 {
			return nil, e
		}
		return nil, fmt.Errorf("read result row %d: %d values for %d columns", rs.line-2, len(f), len(rs.Types))
	}
	row := make([]any, len(f))
	for i, s := range f {
		if row[i], err = value(s, rs.Types[i], rs.loc); err != nil {
			return nil, fmt.Errorf("read result row %d, column %s: %w", rs.line-2, rs.Names[i], err)
		}
	}
	return row, nil
}

// Close stops reading; an unfinished query is left to Kill or to the server's
// noticing the closed connection.
func (rs *Rows) Close() error { return rs.resp.Body.Close() }

// Kill stops the query with id on the server.
func (c *Client) Kill(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.Exec(ctx, "KILL QUERY WHERE query_id = "+QuoteString(id)+" ASYNC")
}

// newQueryID returns a random query id.
func newQueryID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "flowlens-" + hex.EncodeToString(b[:])
}

// value converts one TabSeparated field of ClickHouse type typ; a DateTime
// without a zone of its own is written in loc, the server's (nil: UTC).
func value(s, typ string, loc *time.Location) (any, error) {
	if inner, ok := strings.CutPrefix(typ, "Nullable("); ok {
		if s == `\N` {
			return nil, nil
		}
		typ = strings.TrimSuffix(inner, ")")
	}
	if inner, ok := strings.CutPrefix(typ, "LowCardinality("); ok {
		typ = strings.TrimSuffix(inner, ")")
	}
	switch {
	case typ == "Nothing":
		return nil, nil
	case strings.HasPrefix(typ, "Int"):
		return strconv.ParseInt(s, 10, 64)
	case strings.HasPrefix(typ, "UInt"):
		u, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return nil, err
		}
		if u > math.MaxInt64 {
			return new(big.Int).SetUint64(u), nil
		}
		return int64(u), nil
	case strings.HasPrefix(typ, "Float"):
		switch s {
		case "inf", "+inf":
			return math.Inf(1), nil
		case "-inf":
			return math.Inf(-1), nil
		case "nan", "-nan":
			return math.NaN(), nil
		}
		return strconv.ParseFloat(s, 64)
	case strings.HasPrefix(typ, "Decimal"):
		return strconv.ParseFloat(s, 64)
	case typ == "DateTime" || strings.HasPrefix(typ, "DateTime("):
		if s == "0000-00-00 00:00:00" {
			return time.Unix(0, 0).UTC(), nil
		}
		// The text is in the column's own zone (DateTime('UTC')), else in
		// the server's; it does not say which.
		if zone, ok := strings.CutPrefix(typ, "DateTime('"); ok {
			l, err := time.LoadLocation(strings.TrimSuffix(zone, "')"))
			if err != nil {
				return nil, fmt.Errorf("time zone of %s: %w", typ, err)
			}
			loc = l
		}
		if loc == nil {
			loc = time.UTC
		}
		t, err := time.ParseInLocation("2006-01-02 15:04:05", s, loc)
		if err != nil {
			return nil, err
		}
		return t.UTC(), nil
	}
	// String, FixedString, Date, Enum, UUID and composite types come out as
	// ClickHouse writes them.
	return unescape(s), nil
}

// unescape undoes TabSeparated escaping.
func unescape(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '0':
			b.WriteByte(0)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'a':
			b.WriteByte('\a')
		case 'v':
			b.WriteByte('\v')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// AppendEscaped appends s to b escaped for a TabSeparated field.
func AppendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, '\\', '\\')
		case '\t':
			b = append(b, '\\', 't')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case 0:
			b = append(b, '\\', '0')
		default:
			b = append(b, c)
		}
	}
	return b
}

// ServerError is an error ClickHouse reported: its code, its message and,
// for syntax errors, the byte offset in the statement (from 0; -1 if none).
type ServerError struct {
	Status int
	Code   int
	Msg    string
	Pos    int
}

func (e *ServerError) Error() string {
	if e.Code == 0 {
		return fmt.Sprintf("clickhouse: HTTP %d: %s", e.Status, e.Msg)
	}
	return fmt.Sprintf("clickhouse: code %d: %s", e.Code, e.Msg)
}

var (
	errorRE    = regexp.MustCompile(`(?s)^Code: (\d+), e\.displayText\(\) = (?:DB::Exception: )?(.*?)(?:, e\.what\(\) = \S+)?\s*$`)
	positionRE = regexp.MustCompile(`failed at position (\d+)`)
)

func parseServerError(status int, body string) *ServerError {
	e := &ServerError{Status: status, Pos: -1, Msg: strings.TrimSpace(body)}
	if i := strings.Index(body, "Code: "); i >= 0 {
		if m := errorRE.FindStringSubmatch(body[i:]); m != nil {
			e.Code, _ = strconv.Atoi(m[1])
			e.Msg = strings.TrimSpace(m[2])
		}
	}
	if m := positionRE.FindStringSubmatch(e.Msg); m != nil {
		if p, err := strconv.Atoi(m[1]); err == nil && p >= 1 {
			e.Pos = p - 1
		}
	}
	return e
}

// QuoteString is the one function that turns text into a ClickHouse string
// literal: ClickHouse strings give the backslash a meaning, so it is escaped
// as well as the quote.
func QuoteString(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '\'':
			b.WriteByte('\\')
			b.WriteByte(c)
		case 0:
			b.WriteString(`\0`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// QuoteIdent quotes a table or column name with backquotes.
func QuoteIdent(s string) string {
	return "`" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "`", "\\`") + "`"
}
