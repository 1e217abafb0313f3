package report

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/flowlens/flowlens/alert"
	"github.com/flowlens/flowlens/engine"
)

// Lookback is how far before the reviewed range the report looks for what is
// new (rejected sources) and what went silent (interfaces).
const Lookback = 7 * 24 * time.Hour

// AdminPorts are the remote-administration and database ports whose
// exposure to the internet the compliance report highlights.
var AdminPorts = map[int64]string{
	22: "ssh", 23: "telnet", 135: "msrpc", 139: "netbios", 445: "smb", 1433: "mssql", 1521: "oracle",
	2375: "docker", 2376: "docker-tls", 3306: "mysql", 3389: "rdp", 5432: "postgresql", 5900: "vnc",
	5985: "winrm", 5986: "winrm-tls", 6379: "redis", 9200: "elasticsearch", 9300: "elasticsearch",
	11211: "memcached", 27017: "mongodb",
}

// Requirement is one PCI DSS requirement the report evidences.
type Requirement struct {
	ID string `json:"id"`
	// Text is the requirement as PCI DSS v4.0/v4.0.1 words it.
	Text string `json:"text"`
	// Formerly is the number of the requirement in v3.2.1, if it had one.
	Formerly string `json:"formerly,omitempty"`
	// Evidence says what in this report evidences it.
	Evidence string `json:"evidence"`
}

// Count is an account or VPC with its records and the number of its
// interfaces that logged.
type Count struct {
	Name       string `json:"name"`
	Records    int64  `json:"records"`
	Interfaces int    `json:"interfaces"`
}

// HourCount is the records of one hour.
type HourCount struct {
	Hour    time.Time `json:"hour"`
	Records int64     `json:"records"`
}

// InterfaceCoverage is what one network interface logged in the range.
type InterfaceCoverage struct {
	Interface string `json:"interface_id"`
	Account   string `json:"account_id"`
	VPC       string `json:"vpc_id"`
	Records   int64  `json:"records"`
	NoData    int64  `json:"nodata"`
	SkipData  int64  `json:"skipdata"`
	// HoursLogged is the number of hours with at least one record.
	HoursLogged int `json:"hours_logged"`
	// GapHours are hours with no record of this interface: between its
	// first and last record, after its last one (while others still
	// logged), and before its first one when it logged in the lookback.
	GapHours []time.Time `json:"gap_hours"`
	// PerHour is the interface's mean records per hour over its span in
	// the range (gap hours included).
	PerHour float64 `json:"records_per_hour"`
	// Improbable marks gaps that the interface's rate makes all but
	// impossible by chance: for some gap hour both PerHour and the mean
	// of the hours before and after it are at least MinGapRate. Such
	// gaps are exceptions.
	Improbable bool `json:"gaps_improbable"`
}

// MinGapRate is the records per hour from which an hour without any record
// of an interface is an exception. For steady traffic 10 would do (an
// empty hour then has a chance of e^-10), but flows come in bursts, so the
// bar is three times that, as the flow-log-gap rule asks 75 records of a
// whole VPC. Quieter interfaces (a standby host, a test ENI) have empty
// hours by nature; they are listed, not raised.
const MinGapRate = 30.0

// SilentInterface is an interface that logged in the lookback but not once
// in the range.
type SilentInterface struct {
	Interface string    `json:"interface_id"`
	Account   string    `json:"account_id"`
	VPC       string    `json:"vpc_id"`
	LastSeen  time.Time `json:"last_seen"`
}

// Coverage is which sources logged.
type Coverage struct {
	Records    int64               `json:"records"`
	OK         int64               `json:"ok"`
	NoData     int64               `json:"nodata"`
	SkipData   int64               `json:"skipdata"`
	Accounts   []Count             `json:"accounts"`
	VPCs       []Count             `json:"vpcs"`
	Interfaces []InterfaceCoverage `json:"interfaces"`
	Hours      []HourCount         `json:"hours"`
	// EmptyHours are hours of the range in which no interface logged.
	EmptyHours []time.Time       `json:"empty_hours"`
	Silent     []SilentInterface `json:"silent_interfaces"`
	// LastHour is the last hour of the range that any record of the lake
	// falls in; later hours are not counted as gaps (delivery may lag).
	LastHour *time.Time `json:"last_hour"`
}

// AddrCount is an address with its rejected (or accepted) records.
type AddrCount struct {
	Addr    string `json:"addr"`
	Records int64  `json:"records"`
	Peers   int64  `json:"peers"` // distinct addresses on the other side
	Ports   int64  `json:"ports"` // distinct destination ports
}

// PortCount is a destination port and protocol with its records.
type PortCount struct {
	Port     int64  `json:"port"`
	Protocol int64  `json:"protocol"`
	Records  int64  `json:"records"`
	Sources  int64  `json:"sources"`
	Service  string `json:"service,omitempty"`
}

// Rejected is the rejected traffic of the range.
type Rejected struct {
	Records      int64       `json:"records"`
	Packets      int64       `json:"packets"`
	Bytes        int64       `json:"bytes"`
	ScopeRecords int64       `json:"scope_records"` // every record in scope, for the share
	Sources      int64       `json:"sources"`
	Destinations int64       `json:"destinations"`
	TopSources   []AddrCount `json:"top_sources"`
	TopDests     []AddrCount `json:"top_destinations"`
	TopPorts     []PortCount `json:"top_ports"`
	// NewSources counts the rejected sources that appear in no record of
	// the lookback; NewTop lists the busiest of them.
	NewSources int64       `json:"new_sources"`
	NewTop     []AddrCount `json:"new_sources_top"`
	// LookbackDays is the number of lookback days the lake holds records
	// of; with none, every source is new.
	LookbackDays int `json:"lookback_days"`
}

// ExposedPort is a destination port that accepted connections from the internet.
type ExposedPort struct {
	Port     int64  `json:"port"`
	Protocol int64  `json:"protocol"`
	Service  string `json:"service,omitempty"`
	Admin    bool   `json:"admin"`
	Records  int64  `json:"records"`
	Sources  int64  `json:"sources"`
	Targets  int64  `json:"targets"`
	Bytes    int64  `json:"bytes"`
}

// ExposedTarget is one internal address accepting an admin port from the internet.
type ExposedTarget struct {
	Addr      string    `json:"addr"`
	Port      int64     `json:"port"`
	Protocol  int64     `json:"protocol"`
	Service   string    `json:"service"`
	Records   int64     `json:"records"`
	Sources   int64     `json:"sources"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// Exposure is ACCEPTed inbound traffic from the internet to internal
// addresses, by destination port.
type Exposure struct {
	Records int64           `json:"records"`
	Ports   []ExposedPort   `json:"ports"`
	Admin   []ExposedTarget `json:"admin_targets"`
}

// AlertRow is one alert of the range.
type AlertRow struct {
	ID        string    `json:"id"`
	Rule      string    `json:"rule"`
	Category  string    `json:"category"`
	Severity  string    `json:"severity"`
	Status    string    `json:"status"`
	Title     string    `json:"title"`
	Src       string    `json:"src"`
	Dst       string    `json:"dst"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	Count     int64     `json:"count"`
	AckedBy   string    `json:"acked_by"`
	Note      string    `json:"note"`
}

// AlertSummary is the alerts whose span meets the range.
type AlertSummary struct {
	// StoreFound says whether the data folder has an alert store.
	StoreFound   bool                      `json:"store_found"`
	StoreUpdated *time.Time                `json:"store_updated"`
	Total        int                       `json:"total"`
	BySeverity   map[string]int            `json:"by_severity"`
	ByStatus     map[string]int            `json:"by_status"`
	ByCategory   map[string]map[string]int `json:"by_category"` // category → status → alerts
	Alerts       []AlertRow                `json:"alerts"`
}

// Retention is the lake's history against requirement 10.5.1.
type Retention struct {
	OldestDay     string   `json:"oldest_day"`
	NewestDay     string   `json:"newest_day"`
	DaysAvailable int      `json:"days_available"`
	MissingDays   []string `json:"missing_days"` // between oldest and newest
	// Window12 and Window3 are the days of the 12 and 3 months ending with
	// the review's last day, and how many of them the lake holds.
	Window12Days    int    `json:"window_12m_days"`
	Window12Present int    `json:"window_12m_present"`
	Window3Days     int    `json:"window_3m_days"`
	Window3Present  int    `json:"window_3m_present"`
	RetentionSet    string `json:"retention_setting"` // "" keeps everything
	Meets12Months   bool   `json:"meets_12_months"`
	Meets3Months    bool   `json:"meets_3_months"`
}

// Integrity is the check of the reviewed days' data files against the catalog.
type Integrity struct {
	CatalogFound bool     `json:"catalog_found"`
	CatalogError string   `json:"catalog_error,omitempty"`
	Files        int      `json:"files"`
	Verified     int      `json:"verified"`
	Problems     []string `json:"problems"`
}

// Exception is one finding that needs follow-up (requirement 10.4.3).
type Exception struct {
	Section string `json:"section"`
	Item    string `json:"item"`
	Reason  string `json:"reason"`
}

// Review is the sign-off.
type Review struct {
	Reviewer string `json:"reviewer"`
	Date     string `json:"date"`
}

// Scope is what the review covers.
type Scope struct {
	CDE      []string `json:"cde"`
	Internal []string `json:"internal"`
}

// Compliance is the daily log review of PCI DSS v4.0 requirement 10.4.1.
// Its JSON form is the -f json output; keys are stable.
type Compliance struct {
	Report       string        `json:"report"` // "compliance"
	GeneratedAt  time.Time     `json:"generated_at"`
	From         time.Time     `json:"from"`
	To           time.Time     `json:"to"`
	Days         []string      `json:"days"`
	Scope        Scope         `json:"scope"`
	Requirements []Requirement `json:"requirements"`
	Coverage     Coverage      `json:"coverage"`
	Rejected     Rejected      `json:"rejected"`
	Exposure     Exposure      `json:"exposure"`
	Alerts       AlertSummary  `json:"alerts"`
	Retention    Retention     `json:"retention"`
	Integrity    Integrity     `json:"integrity"`
	Exceptions   []Exception   `json:"exceptions"`
	Review       Review        `json:"review"`

	top int
}

// BuildCompliance computes the compliance review of [o.From, o.To), which
// must be whole UTC days.
func BuildCompliance(ctx context.Context, in Inputs, o Options) (*Compliance, error) {
	o.defaults()
	if o.From.IsZero() || o.To.IsZero() || !o.From.Before(o.To) {
		return nil, errors.New("compliance report: the range needs a from before its to")
	}
	if !day(o.From).Equal(o.From) || !day(o.To).Equal(o.To) {
		return nil, fmt.Errorf("compliance report: the range %s to %s does not fall on whole UTC days", o.From.Format(time.RFC3339), o.To.Format(time.RFC3339))
	}
	c := &Compliance{Report: "compliance", GeneratedAt: o.Now, From: o.From, To: o.To, top: o.Top,
		Scope: Scope{CDE: prefixStrings(o.CDE), Internal: prefixStrings(o.Internal)}}
	if c.Scope.CDE == nil {
		c.Scope.CDE = []string{}
	}
	for d := o.From; d.Before(o.To); d = d.AddDate(0, 0, 1) {
		c.Days = append(c.Days, d.Format("2006-01-02"))
	}
	b := &builder{q: &querier{ctx: ctx, eng: in.Engine, timeout: o.Timeout}, o: o, in: in, c: c}
	if err := b.predicates(); err != nil {
		return nil, err
	}
	for _, step := range []func() error{b.coverage, b.rejected, b.exposure} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	b.alerts()
	b.retention()
	b.integrity()
	b.requirements()
	if o.Reviewer != "" {
		c.Review = Review{Reviewer: o.Reviewer, Date: o.Now.Format("2006-01-02")}
	}
	if c.Exceptions == nil {
		c.Exceptions = []Exception{}
	}
	return c, nil
}

type builder struct {
	q  *querier
	o  Options
	in Inputs
	c  *Compliance

	scope    string // records in scope: TRUE, or src or dst in the CDE
	ifaces   string // interfaces in scope: TRUE, or those carrying CDE records
	internal string // dstaddr is internal (or in the CDE)
	external string // srcaddr is on the internet
}

func (b *builder) rng() engine.Range { return engine.Range{From: b.o.From, To: b.o.To} }

func (b *builder) lookback() engine.Range {
	return engine.Range{From: b.o.From.Add(-Lookback), To: b.o.From}
}

func (b *builder) except(section, item, reason string) {
	b.c.Exceptions = append(b.c.Exceptions, Exception{Section: section, Item: item, Reason: reason})
}

func (b *builder) predicates() error {
	b.scope, b.ifaces = "TRUE", "TRUE"
	dstInternal, err := prefixSQL("dstaddr", b.o.Internal)
	if err != nil {
		return fmt.Errorf("internal networks: %w", err)
	}
	srcInternal, err := prefixSQL("srcaddr", b.o.Internal)
	if err != nil {
		return fmt.Errorf("internal networks: %w", err)
	}
	b.internal = dstInternal
	b.external = "(srcaddr IS NOT NULL AND " + notSQL(srcInternal) + ")"
	if len(b.o.CDE) > 0 {
		src, err := prefixSQL("srcaddr", b.o.CDE)
		if err != nil {
			return fmt.Errorf("cde: %w", err)
		}
		dst, err := prefixSQL("dstaddr", b.o.CDE)
		if err != nil {
			return fmt.Errorf("cde: %w", err)
		}
		b.scope = "(" + src + " OR " + dst + ")"
		b.ifaces = "interface_id IN (SELECT interface_id FROM vpc_flow_logs WHERE " + b.scope + ")"
		b.internal = dst
	}
	return nil
}

func (b *builder) coverage() error {
	cv := &b.c.Coverage
	// One row per interface with its hours as lists, so that a review of
	// many days stays within the engine's row cap.
	rows, err := b.q.rows("coverage", `SELECT interface_id, any_value(acct), any_value(vpc), list(h ORDER BY h), list(n ORDER BY h), sum(nd), sum(sd)
FROM (SELECT interface_id, any_value(account_id) AS acct, any_value(vpc_id) AS vpc, start // 3600 AS h, count(*) AS n,
    count(*) FILTER (WHERE log_status = 'NODATA') AS nd, count(*) FILTER (WHERE log_status = 'SKIPDATA') AS sd
  FROM vpc_flow_logs WHERE `+b.ifaces+` GROUP BY interface_id, h)
GROUP BY interface_id ORDER BY interface_id`, b.rng())
	if err != nil {
		return err
	}
	byIface := map[string]*InterfaceCoverage{}
	hours := map[int64]map[string]bool{} // hour → interfaces
	own := map[string]map[int64]int64{}  // interface → hour → records
	perHour := map[int64]int64{}
	accounts, vpcs := map[string]int64{}, map[string]int64{}
	lastHour := int64(-1)
	var order []string
	for _, r := range rows {
		id, acct, vpc := toStr(r[0]), toStr(r[1]), toStr(r[2])
		hs, ns := toList(r[3]), toList(r[4])
		if len(hs) != len(ns) {
			return fmt.Errorf("report coverage: interface %s has %d hours and %d counts", id, len(hs), len(ns))
		}
		ic := &InterfaceCoverage{Interface: id, Account: acct, VPC: vpc, GapHours: []time.Time{}, NoData: toInt(r[5]), SkipData: toInt(r[6])}
		byIface[id] = ic
		order = append(order, id)
		own[id] = map[int64]int64{}
		for i, hv := range hs {
			h, n := toInt(hv), toInt(ns[i])
			ic.Records += n
			ic.HoursLogged++
			if hours[h] == nil {
				hours[h] = map[string]bool{}
			}
			hours[h][id] = true
			own[id][h] = n
			perHour[h] += n
			lastHour = max(lastHour, h)
		}
		cv.Records += ic.Records
		cv.NoData += ic.NoData
		cv.SkipData += ic.SkipData
		accounts[orDash(acct)] += ic.Records
		vpcs[orDash(vpc)] += ic.Records
	}
	cv.OK = cv.Records - cv.NoData - cv.SkipData
	cv.Accounts, cv.VPCs = counts(accounts), counts(vpcs)
	for i := range cv.Accounts {
		for _, ic := range byIface {
			if orDash(ic.Account) == cv.Accounts[i].Name {
				cv.Accounts[i].Interfaces++
			}
		}
	}
	for i := range cv.VPCs {
		for _, ic := range byIface {
			if orDash(ic.VPC) == cv.VPCs[i].Name {
				cv.VPCs[i].Interfaces++
			}
		}
	}
	first := b.o.From.Unix() / 3600
	end := b.o.To.Unix() / 3600 // exclusive
	for h := first; h < end; h++ {
		cv.Hours = append(cv.Hours, HourCount{Hour: time.Unix(h*3600, 0).UTC(), Records: perHour[h]})
	}
	cv.EmptyHours = []time.Time{}
	cv.Silent = []SilentInterface{}
	if lastHour >= 0 {
		t := time.Unix(lastHour*3600, 0).UTC()
		cv.LastHour = &t
	}

	// The interfaces of the lookback: which existed before, and which went silent.
	prev, err := b.q.rows("coverage lookback", `SELECT interface_id, any_value(account_id), any_value(vpc_id), max(start)
FROM vpc_flow_logs WHERE `+b.ifaces+` GROUP BY interface_id ORDER BY interface_id`, b.lookback())
	if err != nil {
		return err
	}
	before := map[string]bool{}
	for _, r := range prev {
		id := toStr(r[0])
		before[id] = true
		if byIface[id] == nil {
			s := SilentInterface{Interface: id, Account: toStr(r[1]), VPC: toStr(r[2]), LastSeen: time.Unix(toInt(r[3]), 0).UTC()}
			cv.Silent = append(cv.Silent, s)
			b.except("coverage", id, fmt.Sprintf("logged until %s but not once in the review period: the flow log stopped, or the interface was deleted", s.LastSeen.Format(time.RFC3339)))
		}
	}

	if cv.Records == 0 {
		if len(b.c.Days) == 1 {
			b.except("coverage", b.c.Days[0], "no flow logs for this day: the lake holds no record of it")
		} else {
			b.except("coverage", b.c.Days[0]+" to "+b.c.Days[len(b.c.Days)-1], "no flow logs for these days: the lake holds no record of them")
		}
		cv.Interfaces = []InterfaceCoverage{}
		return nil
	}
	for h := first; h <= lastHour && h < end; h++ {
		if len(hours[h]) == 0 {
			t := time.Unix(h*3600, 0).UTC()
			cv.EmptyHours = append(cv.EmptyHours, t)
			b.except("coverage", t.Format("2006-01-02 15:00"), "no interface logged a single record in this hour")
		}
	}
	for _, id := range order {
		ic := byIface[id]
		firstOwn := int64(-1)
		span := 0
		for h := first; h <= lastHour && h < end; h++ {
			if hours[h][id] {
				if firstOwn < 0 {
					firstOwn = h
				}
				span++
				continue
			}
			if firstOwn < 0 && !before[id] {
				continue // a new interface: not a gap before it existed
			}
			if len(hours[h]) == 0 {
				continue // reported once for all interfaces
			}
			span++
			ic.GapHours = append(ic.GapHours, time.Unix(h*3600, 0).UTC())
		}
		if span > 0 {
			ic.PerHour = float64(ic.Records) / float64(span)
		}
		// A gap is improbable when both the interface's mean rate and its
		// rate in the hours either side make an empty hour unlikely, so
		// that the night-time trough of a diurnal interface is no gap.
		for _, g := range ic.GapHours {
			h := g.Unix() / 3600
			if near := float64(own[id][h-1]+own[id][h+1]) / 2; min(near, ic.PerHour) >= MinGapRate {
				ic.Improbable = true
			}
		}
		if n := len(ic.GapHours); n > 0 && ic.Improbable {
			b.except("coverage", id, fmt.Sprintf("%d hour(s) without any record while other interfaces logged, first at %s, although it logs %.0f records an hour",
				n, ic.GapHours[0].Format("15:04 on 2006-01-02"), ic.PerHour))
		}
		if ic.SkipData > 0 {
			b.except("coverage", id, fmt.Sprintf("%s SKIPDATA record(s): AWS skipped flow records in some capture windows (capacity or an internal error)", num(ic.SkipData)))
		}
		cv.Interfaces = append(cv.Interfaces, *ic)
	}
	return nil
}

// counts turns a map into Counts, most records first.
func counts(m map[string]int64) []Count {
	out := make([]Count, 0, len(m))
	for k, v := range m {
		out = append(out, Count{Name: k, Records: v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Records != out[j].Records {
			return out[i].Records > out[j].Records
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func (b *builder) rejected() error {
	rj := &b.c.Rejected
	rows, err := b.q.rows("rejected traffic", `SELECT count(*), count(*) FILTER (WHERE action = 'REJECT'),
  coalesce(sum(packets) FILTER (WHERE action = 'REJECT'), 0), coalesce(sum(bytes) FILTER (WHERE action = 'REJECT'), 0),
  count(DISTINCT srcaddr) FILTER (WHERE action = 'REJECT'), count(DISTINCT dstaddr) FILTER (WHERE action = 'REJECT')
FROM vpc_flow_logs WHERE `+b.scope, b.rng())
	if err != nil {
		return err
	}
	r := rows[0]
	rj.ScopeRecords, rj.Records, rj.Packets, rj.Bytes, rj.Sources, rj.Destinations =
		toInt(r[0]), toInt(r[1]), toInt(r[2]), toInt(r[3]), toInt(r[4]), toInt(r[5])
	where := " FROM vpc_flow_logs WHERE action = 'REJECT' AND " + b.scope
	top := engine.Literal(b.o.Top)
	if rj.TopSources, err = b.addrs("rejected sources", `SELECT srcaddr, count(*) AS n, count(DISTINCT dstaddr), count(DISTINCT dstport)`+where+
		` AND srcaddr IS NOT NULL GROUP BY srcaddr ORDER BY n DESC, srcaddr LIMIT `+top, b.rng()); err != nil {
		return err
	}
	if rj.TopDests, err = b.addrs("rejected destinations", `SELECT dstaddr, count(*) AS n, count(DISTINCT srcaddr), count(DISTINCT dstport)`+where+
		` AND dstaddr IS NOT NULL GROUP BY dstaddr ORDER BY n DESC, dstaddr LIMIT `+top, b.rng()); err != nil {
		return err
	}
	prow, err := b.q.rows("rejected ports", `SELECT dstport, protocol, count(*) AS n, count(DISTINCT srcaddr)`+where+
		` AND dstport IS NOT NULL GROUP BY dstport, protocol ORDER BY n DESC, dstport, protocol LIMIT `+top, b.rng())
	if err != nil {
		return err
	}
	rj.TopPorts = []PortCount{}
	for _, r := range prow {
		p := PortCount{Port: toInt(r[0]), Protocol: toInt(r[1]), Records: toInt(r[2]), Sources: toInt(r[3])}
		p.Service = Service(p.Protocol, p.Port)
		rj.TopPorts = append(rj.TopPorts, p)
	}
	from := engine.Literal(b.o.From.Unix())
	// The rejected sources of the period, then those of them seen in the
	// lookback (a semi-join, so the lookback's other sources cost nothing).
	nrows, err := b.q.rows("new rejected sources", `WITH r AS (
  SELECT srcaddr, count(*) AS n, count(DISTINCT dstaddr) AS peers, count(DISTINCT dstport) AS ports
  FROM vpc_flow_logs WHERE start >= `+from+` AND action = 'REJECT' AND srcaddr IS NOT NULL AND `+b.scope+` GROUP BY srcaddr),
seen AS (SELECT DISTINCT srcaddr FROM vpc_flow_logs WHERE start < `+from+` AND `+b.scope+` AND srcaddr IN (SELECT srcaddr FROM r))
SELECT srcaddr, n, peers, ports, count(*) OVER () FROM r WHERE srcaddr NOT IN (SELECT srcaddr FROM seen)
ORDER BY n DESC, srcaddr LIMIT `+top, engine.Range{From: b.o.From.Add(-Lookback), To: b.o.To})
	if err != nil {
		return err
	}
	rj.NewTop = []AddrCount{}
	for _, r := range nrows {
		rj.NewTop = append(rj.NewTop, AddrCount{Addr: toStr(r[0]), Records: toInt(r[1]), Peers: toInt(r[2]), Ports: toInt(r[3])})
		rj.NewSources = toInt(r[4])
	}
	if b.in.Catalog != nil {
		lb := map[string]bool{}
		for _, f := range b.in.Catalog.Files {
			if d, err := time.Parse("2006-01-02", f.Day); err == nil && !d.Before(b.o.From.Add(-Lookback)) && d.Before(b.o.From) {
				lb[f.Day] = true
			}
		}
		rj.LookbackDays = len(lb)
	}
	return nil
}

func (b *builder) addrs(what, sql string, r engine.Range) ([]AddrCount, error) {
	rows, err := b.q.rows(what, sql, r)
	if err != nil {
		return nil, err
	}
	out := []AddrCount{}
	for _, r := range rows {
		out = append(out, AddrCount{Addr: toStr(r[0]), Records: toInt(r[1]), Peers: toInt(r[2]), Ports: toInt(r[3])})
	}
	return out, nil
}

// inbound is the predicate of accepted connections from the internet to an
// internal address: TCP or UDP, the destination port below the source port
// (the service side), so that the replies to connections the estate opened
// (from a public port 443 to an ephemeral port) are left out.
func (b *builder) inbound() string {
	return "action = 'ACCEPT' AND protocol IN (6, 17) AND dstport < srcport AND " + b.external + " AND " + b.internal
}

func (b *builder) exposure() error {
	ex := &b.c.Exposure
	// One scan: by port, and by target address and port for the admin list.
	rows, err := b.q.rows("exposure", `SELECT grouping_id(dstaddr), dstaddr, dstport, protocol, count(*) AS n, count(DISTINCT srcaddr) AS s,
  count(DISTINCT dstaddr), coalesce(sum(bytes), 0), min(start), max("end")
FROM vpc_flow_logs WHERE `+b.inbound()+`
GROUP BY GROUPING SETS ((dstport, protocol), (dstaddr, dstport, protocol))
ORDER BY s DESC, n DESC, dstport, protocol, dstaddr`, b.rng())
	if err != nil {
		return err
	}
	ex.Ports, ex.Admin = []ExposedPort{}, []ExposedTarget{}
	for _, r := range rows {
		port, proto := toInt(r[2]), toInt(r[3])
		if toInt(r[0]) == 1 { // by port
			p := ExposedPort{Port: port, Protocol: proto, Records: toInt(r[4]), Sources: toInt(r[5]), Targets: toInt(r[6]), Bytes: toInt(r[7])}
			p.Service = Service(p.Protocol, p.Port)
			_, p.Admin = AdminPorts[p.Port]
			ex.Records += p.Records
			ex.Ports = append(ex.Ports, p)
			continue
		}
		if _, admin := AdminPorts[port]; !admin {
			continue
		}
		t := ExposedTarget{Addr: toStr(r[1]), Port: port, Protocol: proto, Service: AdminPorts[port], Records: toInt(r[4]), Sources: toInt(r[5]),
			FirstSeen: time.Unix(toInt(r[8]), 0).UTC(), LastSeen: time.Unix(toInt(r[9]), 0).UTC()}
		ex.Admin = append(ex.Admin, t)
		b.except("exposure", fmt.Sprintf("%s port %d (%s)", t.Addr, t.Port, t.Service),
			fmt.Sprintf("an administration or database port accepted %s connection(s) from %s internet address(es)", num(t.Records), num(t.Sources)))
	}
	// Ports by records, as the table reads best; targets by sources.
	slices.SortStableFunc(ex.Ports, func(x, y ExposedPort) int {
		return cmp.Or(cmp.Compare(y.Records, x.Records), cmp.Compare(x.Port, y.Port), cmp.Compare(x.Protocol, y.Protocol))
	})
	return nil
}

func (b *builder) alerts() {
	as := &b.c.Alerts
	as.StoreFound = b.in.AlertState
	if !b.in.AlertStateUpdated.IsZero() {
		t := b.in.AlertStateUpdated.UTC()
		as.StoreUpdated = &t
	}
	as.BySeverity, as.ByStatus, as.ByCategory = map[string]int{}, map[string]int{}, map[string]map[string]int{}
	as.Alerts = []AlertRow{}
	var in []alert.Alert
	for _, a := range b.in.Alerts {
		if a.LastSeen.Before(b.o.From) || !a.FirstSeen.Before(b.o.To) {
			continue
		}
		in = append(in, a)
	}
	slices.SortStableFunc(in, func(x, y alert.Alert) int {
		if c := y.Severity.Compare(x.Severity); c != 0 {
			return c
		}
		if c := x.FirstSeen.Compare(y.FirstSeen); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	for _, a := range in {
		sev, st := a.Severity.String(), string(a.Status)
		as.Total++
		as.BySeverity[sev]++
		as.ByStatus[st]++
		if as.ByCategory[a.Category] == nil {
			as.ByCategory[a.Category] = map[string]int{}
		}
		as.ByCategory[a.Category][st]++
		as.Alerts = append(as.Alerts, AlertRow{ID: a.ID, Rule: a.Rule, Category: a.Category, Severity: sev, Status: st, Title: a.Title,
			Src: a.Src, Dst: a.Dst, FirstSeen: a.FirstSeen.UTC(), LastSeen: a.LastSeen.UTC(), Count: a.Count, AckedBy: a.AckedBy, Note: a.Note})
		if a.Status == alert.StatusOpen && a.Severity.AtLeast(alert.Medium) {
			b.except("alerts", a.ID, fmt.Sprintf("open %s alert not yet acknowledged: %s", sev, a.Title))
		}
	}
	if !as.StoreFound {
		b.except("alerts", "alert store", "no alert store in the data folder: flowlens detect has never recorded alerts here, so no automated review (10.4.1.1) is evidenced")
	}
}

func (b *builder) retention() {
	rt := &b.c.Retention
	rt.MissingDays = []string{}
	if b.o.Retention > 0 {
		rt.RetentionSet = fmt.Sprintf("%gd", b.o.Retention.Hours()/24)
		if b.o.Retention < 365*24*time.Hour {
			b.except("retention", "retention setting", fmt.Sprintf("the lake deletes partitions older than %s, less than the 12 months of 10.5.1", rt.RetentionSet))
		}
	}
	last := b.o.To.AddDate(0, 0, -1)
	w12 := last.AddDate(-1, 0, 1)
	w3 := last.AddDate(0, -3, 1)
	rt.Window12Days = int(last.Sub(w12).Hours()/24) + 1
	rt.Window3Days = int(last.Sub(w3).Hours()/24) + 1
	days := map[string]bool{}
	if b.in.Catalog != nil {
		for _, f := range b.in.Catalog.Files {
			if f.Rows > 0 {
				days[f.Day] = true
			}
		}
	}
	if len(days) == 0 {
		b.except("retention", "lake", "the lake holds no partitions: no log history is retained")
		return
	}
	list := make([]string, 0, len(days))
	for d := range days {
		list = append(list, d)
	}
	sort.Strings(list)
	rt.OldestDay, rt.NewestDay, rt.DaysAvailable = list[0], list[len(list)-1], len(list)
	oldest, _ := time.Parse("2006-01-02", rt.OldestDay)
	newest, _ := time.Parse("2006-01-02", rt.NewestDay)
	for d := oldest; !d.After(newest); d = d.AddDate(0, 0, 1) {
		if !days[d.Format("2006-01-02")] {
			rt.MissingDays = append(rt.MissingDays, d.Format("2006-01-02"))
		}
	}
	for d := w12; !d.After(last); d = d.AddDate(0, 0, 1) {
		if days[d.Format("2006-01-02")] {
			rt.Window12Present++
			if !d.Before(w3) {
				rt.Window3Present++
			}
		}
	}
	rt.Meets12Months = rt.Window12Present == rt.Window12Days
	rt.Meets3Months = rt.Window3Present == rt.Window3Days
	if !rt.Meets3Months {
		b.except("retention", "last 3 months", fmt.Sprintf("the lake holds %d of the %d days from %s to %s that 10.5.1 wants immediately available",
			rt.Window3Present, rt.Window3Days, w3.Format("2006-01-02"), last.Format("2006-01-02")))
	}
	if !rt.Meets12Months {
		b.except("retention", "last 12 months", fmt.Sprintf("the lake holds %d of the %d days from %s to %s (history starts %s)",
			rt.Window12Present, rt.Window12Days, w12.Format("2006-01-02"), last.Format("2006-01-02"), rt.OldestDay))
	}
}

func (b *builder) integrity() {
	it := &b.c.Integrity
	it.Problems = []string{}
	it.CatalogFound = b.in.Catalog != nil
	if b.in.CatalogError != nil {
		it.CatalogError = b.in.CatalogError.Error()
		b.except("integrity", "catalog", it.CatalogError+" (run flowlens lake verify)")
	}
	if b.in.Catalog == nil {
		return
	}
	want := map[string]bool{}
	for _, d := range b.c.Days {
		want[d] = true
	}
	known := map[string]bool{}
	for _, f := range b.in.Catalog.Files {
		if !want[f.Day] {
			continue
		}
		known[f.Path] = true
		it.Files++
		if b.in.TableDir == "" {
			continue
		}
		st, err := os.Stat(filepath.Join(b.in.TableDir, filepath.FromSlash(f.Path)))
		switch {
		case err != nil:
			it.Problems = append(it.Problems, fmt.Sprintf("%s: in the catalog, missing on disk", f.Path))
		case f.Bytes > 0 && st.Size() != f.Bytes:
			it.Problems = append(it.Problems, fmt.Sprintf("%s: %d bytes on disk, the catalog recorded %d", f.Path, st.Size(), f.Bytes))
		default:
			it.Verified++
		}
	}
	if b.in.TableDir != "" {
		for _, d := range b.c.Days {
			t, _ := time.Parse("2006-01-02", d)
			dir := filepath.Join(b.in.TableDir, t.Format("year=2006"), t.Format("month=01"), t.Format("day=02"))
			ents, err := os.ReadDir(dir)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				it.Problems = append(it.Problems, fmt.Sprintf("%s: %v", dir, err))
			}
			for _, e := range ents {
				rel := t.Format("year=2006/month=01/day=02/") + e.Name()
				if strings.HasSuffix(e.Name(), ".parquet") && !known[rel] {
					it.Problems = append(it.Problems, fmt.Sprintf("%s: on disk, not in the catalog", rel))
				}
			}
		}
	}
	for _, p := range it.Problems {
		b.except("integrity", "data file", p+" (run flowlens lake verify)")
	}
}

func (b *builder) requirements() {
	c := b.c
	cv := &c.Coverage
	ev101 := fmt.Sprintf("coverage: %s records from %d interface(s) in %d VPC(s) of %d account(s); %d hour(s) with no record at all, %d interface(s) with improbable gaps (%d with quiet hours), %d silent since the lookback",
		num(cv.Records), len(cv.Interfaces), len(cv.VPCs), len(cv.Accounts), len(cv.EmptyHours), countGaps(cv.Interfaces, true), countGaps(cv.Interfaces, false), len(cv.Silent))
	auto := "no alert store: detect has not recorded alerts in this data folder"
	if c.Alerts.StoreFound {
		auto = fmt.Sprintf("flowlens detect's rules recorded %d alert(s) meeting the period in the alert store", c.Alerts.Total)
		if c.Alerts.StoreUpdated != nil {
			auto += ", last updated " + c.Alerts.StoreUpdated.Format(time.RFC3339)
		}
	}
	c.Requirements = []Requirement{
		{ID: "10.2.1", Text: "Audit logs are enabled and active for all system components and cardholder data.", Evidence: ev101},
		{ID: "10.3.2", Text: "Audit log files are protected to prevent modifications by individuals.",
			Evidence: "the lake's catalog is replaced atomically and carries a SHA-256 of its content, checked on every read; data files are only added by committed transactions"},
		{ID: "10.3.4", Text: "File integrity monitoring or change-detection mechanisms is used on audit logs to ensure that existing log data cannot be changed without generating alerts.",
			Evidence: fmt.Sprintf("integrity: %d of %d data file(s) of the period match the catalog; %d problem(s)", c.Integrity.Verified, c.Integrity.Files, len(c.Integrity.Problems))},
		{ID: "10.4.1", Formerly: "10.6.1", Text: "The following audit logs are reviewed at least once daily: all security events; logs of all system components that store, process, or transmit CHD and/or SAD; logs of all critical system components; logs of all servers and system components that perform security functions (for example, network security controls, intrusion-detection systems/intrusion-prevention systems (IDS/IPS), authentication servers).",
			Evidence: fmt.Sprintf("this report covers %s; the sign-off below records the review", strings.Join(dayRange(c.Days), " to "))},
		{ID: "10.4.1.1", Text: "Automated mechanisms are used to perform audit log reviews.", Evidence: auto},
		{ID: "10.4.3", Text: "Exceptions and anomalies identified during the review process are addressed.",
			Evidence: fmt.Sprintf("%d exception(s) listed for follow-up, each with its reason", len(c.Exceptions))},
		{ID: "10.5.1", Text: "Retain audit log history for at least 12 months, with at least the most recent three months immediately available for analysis.",
			Evidence: fmt.Sprintf("retention: %d day(s) in the lake, %d of the last %d and %d of the last %d days present", c.Retention.DaysAvailable,
				c.Retention.Window12Present, c.Retention.Window12Days, c.Retention.Window3Present, c.Retention.Window3Days)},
	}
}

// countGaps counts the interfaces with gap hours: improbable ones, or all.
func countGaps(is []InterfaceCoverage, improbable bool) int {
	n := 0
	for _, i := range is {
		if len(i.GapHours) > 0 && (i.Improbable || !improbable) {
			n++
		}
	}
	return n
}

func dayRange(days []string) []string {
	if len(days) <= 1 {
		return days
	}
	return []string{days[0], days[len(days)-1]}
}
