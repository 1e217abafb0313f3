// Package report builds the reports that compliance and network teams
// otherwise assemble by hand from Athena and CloudWatch: the daily log review
// of PCI DSS v4.0 requirement 10.4.1 (Compliance) and a traffic summary
// (Traffic).
//
// It sits between the engine (every number comes from SQL over the
// vpc_flow_logs view), the lake's catalog (partitions, for retention and
// integrity evidence) and the alert store's alerts on one side, and the
// renderers on the other: Markdown, one self-contained HTML file (inline CSS
// and SVG, no external references), JSON with stable keys, and a terminal
// view. A report is computed once into a typed value (*Compliance or
// *Traffic, which is also its JSON form) and laid out as a document that the
// text renderers share.
//
// Main types: Options, Inputs, Compliance, Traffic, Format; main functions:
// BuildCompliance, BuildTraffic and Write.
package report

import (
	"context"
	"fmt"
	"math/big"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/flowlens/flowlens/alert"
	"github.com/flowlens/flowlens/engine"
	"github.com/flowlens/flowlens/enrich"
	"github.com/flowlens/flowlens/lake"
)

// Options say what a report covers.
type Options struct {
	// From and To bound the records reviewed: [From, To), by record start.
	// A compliance report covers whole UTC days.
	From, To time.Time
	// CDE restricts a compliance review to the cardholder data environment:
	// records whose srcaddr or dstaddr lies in one of these networks, and
	// the interfaces that carry them. Empty reviews every record.
	CDE []netip.Prefix
	// Internal are the estate's own networks; everything else is the
	// internet. Nil means enrich.InternalPrefixes.
	Internal []netip.Prefix
	// Reviewer fills the sign-off block's name.
	Reviewer string
	// Top is the length of each top-N table (default 10).
	Top int
	// Retention is the lake's configured retention (0: keep everything),
	// checked against the 12 months of requirement 10.5.1.
	Retention time.Duration
	// Now is the time the report is made (default time.Now); tests fix it.
	Now time.Time
	// Timeout bounds each query (default engine.DefaultTimeout).
	Timeout time.Duration
}

// Inputs are where a report's numbers come from.
type Inputs struct {
	// Engine runs the SQL over the lake.
	Engine engine.Engine
	// Catalog is the lake's catalog (lake.ReadCatalog); nil when the data
	// folder has none. It gives the partitions for retention evidence.
	Catalog *lake.Catalog
	// CatalogError is why the catalog could not be read (a damaged
	// checksum), reported as an integrity exception.
	CatalogError error
	// TableDir is the lake's table folder (engine.LakeDir), where the
	// integrity check finds the catalog's files; empty skips that check.
	TableDir string
	// Alerts are every alert of the alert store; AlertState says whether
	// the data folder has an alert store at all (detect has recorded
	// alerts), and AlertStateUpdated when its state was last written.
	Alerts            []alert.Alert
	AlertState        bool
	AlertStateUpdated time.Time
}

func (o *Options) defaults() {
	if o.Top <= 0 {
		o.Top = 10
	}
	if o.Internal == nil {
		o.Internal = enrich.InternalPrefixes
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	o.Now = o.Now.UTC()
	o.From, o.To = o.From.UTC(), o.To.UTC()
	if o.Timeout <= 0 {
		o.Timeout = engine.DefaultTimeout
	}
}

// querier runs the report's SQL through the engine, naming the section a
// failing query belongs to.
type querier struct {
	ctx     context.Context
	eng     engine.Engine
	timeout time.Duration
}

// rows runs sql over r and returns every row; what is the section, for errors.
func (q *querier) rows(what, sql string, r engine.Range) ([][]any, error) {
	res, err := q.eng.Query(q.ctx, engine.Request{SQL: sql, Range: r, MaxRows: engine.DefaultMaxRows, Timeout: q.timeout})
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", what, err)
	}
	if res.Truncated {
		return nil, fmt.Errorf("report %s: more than %d rows", what, engine.DefaultMaxRows)
	}
	return res.Rows, nil
}

// prefixSQL renders "col lies in one of ps" over the text form of an address
// column with string functions only (DuckDB's inet extension is not linked
// in). IPv4 prefixes of any length work; IPv6 prefixes must end on a 16-bit
// group boundary (2600:1f18::/32) with no zero group in their leading
// groups, or be shorter than /16 with a first group of 4 hex digits (fc00::/7).
// An empty set is FALSE.
func prefixSQL(col string, ps []netip.Prefix) (string, error) {
	var terms []string
	for _, p := range ps {
		p = p.Masked()
		a := p.Addr()
		bits := p.Bits()
		if a.Is4() {
			b := a.As4()
			whole := bits / 8
			parts := make([]string, whole)
			for i := range parts {
				parts[i] = strconv.Itoa(int(b[i]))
			}
			var t string
			switch {
			case bits == 32:
				t = col + " = " + engine.Literal(a.String())
			case whole == 0:
				t = col + " LIKE '%.%.%.%'"
			default:
				t = col + " LIKE " + engine.Literal(strings.Join(parts, ".")+".%")
			}
			if bits%8 != 0 {
				lo := int(b[whole])
				hi := lo + 1<<(8-bits%8) - 1
				t = fmt.Sprintf("(%s AND TRY_CAST(split_part(%s, '.', %d) AS INTEGER) BETWEEN %d AND %d)", t, col, whole+1, lo, hi)
			}
			terms = append(terms, t)
			continue
		}
		switch {
		case bits == 128:
			terms = append(terms, col+" = "+engine.Literal(a.String()))
		case bits%16 == 0 && bits > 0:
			full := strings.Split(a.StringExpanded(), ":")
			var lead []string
			for _, g := range full[:bits/16] {
				v, _ := strconv.ParseUint(g, 16, 16)
				if v == 0 {
					return "", fmt.Errorf("network %s: an IPv6 network with a zero group in its first %d bits is not supported", p, bits)
				}
				lead = append(lead, strconv.FormatUint(v, 16))
			}
			terms = append(terms, "("+col+" LIKE '%:%' AND lower("+col+") LIKE "+engine.Literal(strings.Join(lead, ":")+":%")+")")
		case bits > 0 && bits < 16:
			// The first group, written with 4 hex digits: enumerate its
			// first byte (up to /8) or its second byte (beyond).
			b16 := a.As16()
			var alts []string
			if bits <= 8 {
				for v := int(b16[0]); v < int(b16[0])+1<<(8-bits); v++ {
					if v >= 0x10 {
						alts = append(alts, fmt.Sprintf("%02x__:%%", v))
					}
				}
			} else if b16[0] >= 0x10 {
				for v := int(b16[1]); v < int(b16[1])+1<<(16-bits); v++ {
					alts = append(alts, fmt.Sprintf("%02x%02x:%%", b16[0], v))
				}
			}
			if len(alts) == 0 {
				return "", fmt.Errorf("network %s: an IPv6 network whose first group is below 1000 is not supported", p)
			}
			// LIKE, not a regular expression: the test runs on every
			// record, and _ can only meet a hex digit in an address.
			var likes []string
			for _, a := range alts {
				likes = append(likes, "lower("+col+") LIKE "+engine.Literal(a))
			}
			terms = append(terms, "("+col+" LIKE '%:%' AND ("+strings.Join(likes, " OR ")+"))")
		default:
			return "", fmt.Errorf("network %s: IPv6 networks must end on a 16-bit group boundary (such as /32 or /48)", p)
		}
	}
	if len(terms) == 0 {
		return "FALSE", nil
	}
	return "(" + col + " IS NOT NULL AND (" + strings.Join(terms, " OR ") + "))", nil
}

// notSQL negates a predicate of prefixSQL. DuckDB evaluates NOT over a
// chain of ORs as an AND of every negated term, five times slower on
// addresses than this CASE, which stops at the first term that holds.
func notSQL(pred string) string { return "(CASE WHEN " + pred + " THEN FALSE ELSE TRUE END)" }

// ParsePrefixes reads a comma-separated list of networks or addresses
// ("10.1.0.0/16,10.2.3.4"), as --cde gives them.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP network (10.1.0.0/16) or address", f)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	for _, p := range out {
		if _, err := prefixSQL("x", []netip.Prefix{p}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// toInt reads an integer cell (nil is 0).
func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case float64:
		return int64(x)
	case *big.Int:
		return x.Int64()
	case bool:
		if x {
			return 1
		}
	}
	return 0
}

// toList reads a list cell (nil is empty).
func toList(v any) []any {
	l, _ := v.([]any)
	return l
}

// toStr reads a text cell (nil is "").
func toStr(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// day returns the UTC day start of t.
func day(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// prefixStrings renders networks for the report.
func prefixStrings(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}
