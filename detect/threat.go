package detect

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/flowlens/flowlens/engine"
	"github.com/flowlens/flowlens/enrich"
)

// defaultInlineThreat is the largest threat set that {{threat(col)}} renders
// as an SQL predicate over the prefixes themselves. Above it (feeds of tens or
// hundreds of thousands of entries) that predicate costs DuckDB more to parse
// and plan than the scan itself — 41 s and 1.8 GB for 200,000 entries over one
// day — so the addresses the lake holds in the rule's range are matched here
// instead, and the predicate lists the ones that hit.
const defaultInlineThreat = 2000

// addressSQL lists every distinct address of the view, in any of its address
// columns: whatever a rule passes to {{threat(…)}} (a column, or a CASE over
// them) takes its values from these.
const addressSQL = `SELECT DISTINCT a FROM (
  SELECT srcaddr AS a FROM vpc_flow_logs UNION ALL
  SELECT dstaddr FROM vpc_flow_logs UNION ALL
  SELECT pkt_srcaddr FROM vpc_flow_logs UNION ALL
  SELECT pkt_dstaddr FROM vpc_flow_logs) AS t
WHERE a IS NOT NULL`

// maxAddresses bounds the distinct addresses read for one day of the lake.
const maxAddresses = 50_000_000

// threatHits is the set of addresses seen in a rule's range that are on a
// threat list and outside the estate's own networks, as the lake writes them.
type threatHits struct {
	addrs []string // sorted
}

// inlineThreat is the threshold in force: Options.inlineThreat when set (tests
// force either path), else defaultInlineThreat.
func (r *Runner) inlineThreat() int {
	if r.o.inlineThreat != 0 {
		return r.o.inlineThreat
	}
	return defaultInlineThreat
}

// lookupThreats reads the distinct addresses of [from, to) one UTC day at a
// time (so memory follows a day's addresses, not the range's) and keeps those
// that match the threat lists.
func (r *Runner) lookupThreats(ctx context.Context, from, to time.Time) (*threatHits, error) {
	internal := enrich.NewPrefixSet(r.o.Internal)
	seen := map[string]bool{}
	for lo := from; lo.Before(to); {
		hi := lo.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
		if hi.After(to) {
			hi = to
		}
		out, err := r.eng.Query(ctx, engine.Request{SQL: addressSQL, Range: engine.Range{From: lo, To: hi}, MaxRows: maxAddresses, Timeout: r.o.Timeout})
		if err != nil {
			return nil, fmt.Errorf("read the addresses of %s to %s: %w", lo.Format(time.RFC3339), hi.Format(time.RFC3339), err)
		}
		if out.Truncated {
			return nil, fmt.Errorf("more than %d distinct addresses from %s to %s", maxAddresses, lo.Format(time.RFC3339), hi.Format(time.RFC3339))
		}
		for _, row := range out.Rows {
			s, ok := row[0].(string)
			if !ok || seen[s] {
				continue
			}
			a, err := netip.ParseAddr(s)
			if err != nil {
				continue // not an address: no prefix predicate matches it either
			}
			seen[s] = r.threat.Contains(a) && !internal.Contains(a)
		}
		lo = hi
	}
	h := &threatHits{}
	for s, hit := range seen {
		if hit {
			h.addrs = append(h.addrs, s)
		}
	}
	slices.Sort(h.addrs)
	return h, nil
}

// predicate renders "col is a hit" as SQL.
func (h *threatHits) predicate(col string) string {
	if len(h.addrs) == 0 {
		return sqlFalse
	}
	lits := make([]string, len(h.addrs))
	for i, s := range h.addrs {
		lits[i] = engine.Literal(s)
	}
	return fmt.Sprintf("(%s IN (%s))", col, strings.Join(lits, ", "))
}
