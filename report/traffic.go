package report

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"github.com/flowlens/flowlens/internal/human"
	"slices"
	"strings"
	"time"

	"github.com/flowlens/flowlens/engine"
)

// Bucket is the traffic of one period of the time series.
type Bucket struct {
	Start   time.Time `json:"start"`
	Records int64     `json:"records"`
	Packets int64     `json:"packets"`
	Bytes   int64     `json:"bytes"`
}

// Volume is traffic of one key.
type Volume struct {
	Records int64 `json:"records"`
	Packets int64 `json:"packets"`
	Bytes   int64 `json:"bytes"`
}

// Talker is one source address and its traffic.
type Talker struct {
	Addr string `json:"addr"`
	Volume
	Peers int64 `json:"peers"`
}

// Conversation is one source and destination pair.
type Conversation struct {
	Src string `json:"src"`
	Dst string `json:"dst"`
	Volume
}

// PortVolume is one protocol and port: in top_ports the lower of a
// record's source and destination port (the service side), in protocols
// zero.
type PortVolume struct {
	Protocol     int64  `json:"protocol"`
	ProtocolName string `json:"protocol_name"`
	Port         int64  `json:"port"`
	Service      string `json:"service,omitempty"`
	Volume
}

// ActionVolume is the traffic of one action (ACCEPT, REJECT, none).
type ActionVolume struct {
	Action string `json:"action"`
	Volume
}

// DirectionVolume is the traffic between internal networks and the internet.
type DirectionVolume struct {
	// Direction is internal-internal, internal-external,
	// external-internal, external-external or unknown (no addresses).
	Direction string `json:"direction"`
	Volume
}

// EgressInterface is one interface's traffic from internal sources to the internet.
type EgressInterface struct {
	Interface string `json:"interface_id"`
	VPC       string `json:"vpc_id"`
	// NAT says the interface translates addresses (its records show a
	// packet source address other than the record's), as a NAT gateway does.
	NAT bool `json:"nat"`
	Volume
}

// Traffic is the traffic summary of a range. Its JSON form is the -f json
// output; keys are stable.
type Traffic struct {
	Report        string            `json:"report"` // "traffic"
	GeneratedAt   time.Time         `json:"generated_at"`
	From          time.Time         `json:"from"`
	To            time.Time         `json:"to"`
	BucketSeconds int64             `json:"bucket_seconds"`
	Internal      []string          `json:"internal"`
	Total         Volume            `json:"total"`
	Series        []Bucket          `json:"series"`
	TopTalkers    []Talker          `json:"top_talkers"`
	TopConvs      []Conversation    `json:"top_conversations"`
	TopPorts      []PortVolume      `json:"top_ports"`
	Protocols     []PortVolume      `json:"protocols"`
	Actions       []ActionVolume    `json:"actions"`
	Directions    []DirectionVolume `json:"directions"`
	Egress        []EgressInterface `json:"egress_by_interface"`

	top int
}

// BuildTraffic computes the traffic summary of [o.From, o.To).
func BuildTraffic(ctx context.Context, in Inputs, o Options) (*Traffic, error) {
	o.defaults()
	if o.From.IsZero() || o.To.IsZero() || !o.From.Before(o.To) {
		return nil, errors.New("traffic report: the range needs a from before its to")
	}
	t := &Traffic{Report: "traffic", GeneratedAt: o.Now, From: o.From, To: o.To, Internal: prefixStrings(o.Internal), top: o.Top}
	q := &querier{ctx: ctx, eng: in.Engine, timeout: o.Timeout}
	r := engine.Range{From: o.From, To: o.To}
	t.BucketSeconds = 3600
	if o.To.Sub(o.From) > 8*24*time.Hour {
		t.BucketSeconds = 86400
	}
	srcInt, err := prefixSQL("srcaddr", o.Internal)
	if err != nil {
		return nil, fmt.Errorf("internal networks: %w", err)
	}
	dstInt, err := prefixSQL("dstaddr", o.Internal)
	if err != nil {
		return nil, fmt.Errorf("internal networks: %w", err)
	}
	vol := "count(*), coalesce(sum(packets), 0), coalesce(sum(bytes), 0)"
	volume := func(row []any, i int) Volume {
		return Volume{Records: toInt(row[i]), Packets: toInt(row[i+1]), Bytes: toInt(row[i+2])}
	}
	top := engine.Literal(o.Top)

	// One scan for the series, protocols, actions and directions: the
	// address classification runs once per record.
	dir := `CASE WHEN srcaddr IS NULL OR dstaddr IS NULL THEN 'unknown'
  ELSE (CASE WHEN ` + srcInt + ` THEN 'internal' ELSE 'external' END) || '-' || (CASE WHEN ` + dstInt + ` THEN 'internal' ELSE 'external' END) END`
	rows, err := q.rows("traffic over time, protocols, actions and directions", `SELECT grouping_id(b, protocol, a, d), b, protocol, a, d, `+vol+`
FROM (SELECT start // `+engine.Literal(t.BucketSeconds)+` AS b, protocol, coalesce(action, '-') AS a, `+dir+` AS d, packets, bytes FROM vpc_flow_logs)
GROUP BY GROUPING SETS ((b), (protocol), (a), (d))`, r)
	if err != nil {
		return nil, err
	}
	got := map[int64]Volume{}
	t.Protocols, t.Actions, t.Directions = []PortVolume{}, []ActionVolume{}, []DirectionVolume{}
	for _, row := range rows {
		v := volume(row, 5)
		switch toInt(row[0]) {
		case 0b0111: // by bucket
			if row[1] == nil {
				continue // no start: counted in the other sets
			}
			got[toInt(row[1])] = v
			t.Total.Records += v.Records
			t.Total.Packets += v.Packets
			t.Total.Bytes += v.Bytes
		case 0b1011: // by protocol
			if row[2] == nil {
				continue
			}
			p := PortVolume{Protocol: toInt(row[2]), Volume: v}
			p.ProtocolName = ProtocolName(p.Protocol)
			t.Protocols = append(t.Protocols, p)
		case 0b1101: // by action
			t.Actions = append(t.Actions, ActionVolume{Action: toStr(row[3]), Volume: v})
		case 0b1110: // by direction
			t.Directions = append(t.Directions, DirectionVolume{Direction: toStr(row[4]), Volume: v})
		}
	}
	slices.SortFunc(t.Protocols, func(x, y PortVolume) int {
		return cmp.Or(cmp.Compare(y.Bytes, x.Bytes), cmp.Compare(x.Protocol, y.Protocol))
	})
	slices.SortFunc(t.Actions, func(x, y ActionVolume) int {
		return cmp.Or(cmp.Compare(y.Records, x.Records), strings.Compare(x.Action, y.Action))
	})
	slices.SortFunc(t.Directions, func(x, y DirectionVolume) int {
		return cmp.Or(cmp.Compare(y.Bytes, x.Bytes), strings.Compare(x.Direction, y.Direction))
	})
	for b := o.From.Unix() / t.BucketSeconds; b*t.BucketSeconds < o.To.Unix(); b++ {
		v := got[b]
		t.Series = append(t.Series, Bucket{Start: time.Unix(b*t.BucketSeconds, 0).UTC(), Records: v.Records, Packets: v.Packets, Bytes: v.Bytes})
	}

	t.TopTalkers = []Talker{}
	// The destinations are counted for the top sources only: a distinct
	// count for every source of the range would cost more than the rest.
	rows, err = q.rows("top talkers", `WITH t AS (
  SELECT srcaddr, count(*) AS n, coalesce(sum(packets), 0) AS p, coalesce(sum(bytes), 0) AS v
  FROM vpc_flow_logs WHERE srcaddr IS NOT NULL GROUP BY srcaddr ORDER BY v DESC, srcaddr LIMIT `+top+`)
SELECT t.srcaddr, t.n, t.p, t.v, count(DISTINCT f.dstaddr) FROM t JOIN vpc_flow_logs f ON f.srcaddr = t.srcaddr
GROUP BY t.srcaddr, t.n, t.p, t.v ORDER BY t.v DESC, t.srcaddr`, r)
	if err != nil {
		return nil, err
	}
	for _, row := range rows {
		t.TopTalkers = append(t.TopTalkers, Talker{Addr: toStr(row[0]), Volume: volume(row, 1), Peers: toInt(row[4])})
	}

	t.TopConvs = []Conversation{}
	rows, err = q.rows("top conversations", "SELECT srcaddr, dstaddr, "+vol+" FROM vpc_flow_logs WHERE srcaddr IS NOT NULL GROUP BY srcaddr, dstaddr ORDER BY 5 DESC, srcaddr, dstaddr LIMIT "+top, r)
	if err != nil {
		return nil, err
	}
	for _, row := range rows {
		t.TopConvs = append(t.TopConvs, Conversation{Src: toStr(row[0]), Dst: toStr(row[1]), Volume: volume(row, 2)})
	}

	t.TopPorts = []PortVolume{}
	// The port of a record is the lower of its two ports, the service
	// side for nearly all traffic, so that the replies of a web server
	// (from 443 to an ephemeral port) count under 443, not under 50,000
	// ephemeral ports.
	rows, err = q.rows("top ports", "SELECT protocol, least(srcport, dstport) AS port, "+vol+
		" FROM vpc_flow_logs WHERE protocol IS NOT NULL GROUP BY protocol, port ORDER BY 5 DESC, protocol, port LIMIT "+top, r)
	if err != nil {
		return nil, err
	}
	for _, row := range rows {
		p := PortVolume{Protocol: toInt(row[0]), Port: toInt(row[1]), Volume: volume(row, 2)}
		p.ProtocolName, p.Service = ProtocolName(p.Protocol), Service(p.Protocol, p.Port)
		t.TopPorts = append(t.TopPorts, p)
	}

	t.Egress = []EgressInterface{}
	rows, err = q.rows("egress by interface", `SELECT interface_id, any_value(vpc_id), bool_or(pkt_srcaddr IS NOT NULL AND pkt_srcaddr <> srcaddr), `+vol+`
FROM vpc_flow_logs WHERE `+srcInt+` AND dstaddr IS NOT NULL AND `+notSQL(dstInt)+`
GROUP BY interface_id ORDER BY 6 DESC, interface_id LIMIT `+top, r)
	if err != nil {
		return nil, err
	}
	for _, row := range rows {
		nat, _ := row[2].(bool)
		t.Egress = append(t.Egress, EgressInterface{Interface: toStr(row[0]), VPC: toStr(row[1]), NAT: nat, Volume: volume(row, 3)})
	}
	return t, nil
}

func (t *Traffic) document() *document {
	d := &document{Title: "Traffic summary: VPC Flow Logs"}
	d.Subtitle = "From " + t.From.Format(time.RFC3339) + " to " + t.To.Format(time.RFC3339)
	d.Meta = [][2]string{
		{"Records", num(t.Total.Records)},
		{"Packets", num(t.Total.Packets)},
		{"Bytes", human.Bytes(t.Total.Bytes)},
		{"Generated", t.GeneratedAt.Format(time.RFC3339) + " by flowlens report traffic"},
	}
	if t.Total.Records == 0 {
		d.Sections = append(d.Sections, section{ID: "empty", Title: "No flow logs", Blocks: []block{
			para{Tone: "note", Text: "The lake holds no record in this range."}}})
		return d
	}
	over := section{ID: "over-time", Title: "Traffic over time"}
	layout, unit := "01-02 15h", "hour"
	if t.To.Sub(t.From) <= 24*time.Hour && t.From.Hour() == 0 {
		layout = "15h"
	}
	if t.BucketSeconds == 86400 {
		layout, unit = "2006-01-02", "day"
	}
	bytesC := chart{Title: "Bytes per " + unit + " (UTC)", Human: shortBytes}
	flowsC := chart{Title: "Records (flows) per " + unit + " (UTC)"}
	for _, b := range t.Series {
		l := b.Start.Format(layout)
		bytesC.Labels, bytesC.Values = append(bytesC.Labels, l), append(bytesC.Values, float64(b.Bytes))
		flowsC.Labels, flowsC.Values = append(flowsC.Labels, l), append(flowsC.Values, float64(b.Records))
	}
	over.Blocks = append(over.Blocks, para{Text: "Sums are over records as logged: traffic between two monitored interfaces is logged by both, so it counts twice."}, bytesC, flowsC)
	d.Sections = append(d.Sections, over)

	tt := newTable("", "source", "bytes>", "packets>", "records>", "destinations>")
	for _, x := range t.TopTalkers {
		tt.add(false, x.Addr, human.Bytes(x.Bytes), num(x.Packets), num(x.Records), num(x.Peers))
	}
	ct := newTable("", "source", "destination", "bytes>", "packets>", "records>")
	for _, x := range t.TopConvs {
		ct.add(false, x.Src, x.Dst, human.Bytes(x.Bytes), num(x.Packets), num(x.Records))
	}
	pt := newTable("By protocol and service port (the lower of the two ports)", "protocol", "port", "service", "bytes>", "records>")
	for _, x := range t.TopPorts {
		pt.add(false, x.ProtocolName, fmt.Sprint(x.Port), orDash(x.Service), human.Bytes(x.Bytes), num(x.Records))
	}
	prt := newTable("By protocol", "protocol", "number>", "bytes>", "share of bytes>", "records>")
	for _, x := range t.Protocols {
		prt.add(false, x.ProtocolName, fmt.Sprint(x.Protocol), human.Bytes(x.Bytes), pct(x.Bytes, t.Total.Bytes), num(x.Records))
	}
	at := newTable("", "action", "records>", "share of records>", "bytes>", "share of bytes>")
	for _, x := range t.Actions {
		at.add(x.Action == "REJECT", x.Action, num(x.Records), pct(x.Records, t.Total.Records), human.Bytes(x.Bytes), pct(x.Bytes, t.Total.Bytes))
	}
	dt := newTable("", "direction", "records>", "bytes>", "share of bytes>")
	for _, x := range t.Directions {
		dt.add(false, x.Direction, num(x.Records), human.Bytes(x.Bytes), pct(x.Bytes, t.Total.Bytes))
	}
	et := newTable("", "interface", "vpc", "nat", "bytes>", "packets>", "records>")
	for _, x := range t.Egress {
		nat := ""
		if x.NAT {
			nat = "yes"
		}
		et.add(x.NAT, x.Interface, orDash(x.VPC), orDash(nat), human.Bytes(x.Bytes), num(x.Packets), num(x.Records))
	}
	d.Sections = append(d.Sections,
		section{ID: "top-talkers", Title: "Top talkers (by bytes sent)", Blocks: []block{tt}},
		section{ID: "top-conversations", Title: "Top conversations", Blocks: []block{ct}},
		section{ID: "ports", Title: "Ports and protocols", Blocks: []block{pt, prt}},
		section{ID: "actions", Title: "Accepted and rejected", Blocks: []block{at}},
		section{ID: "directions", Title: "Internal and external", Blocks: []block{
			para{Text: "Internal networks: " + joinComma(t.Internal) + "; every other address is external (the internet)."}, dt}},
		section{ID: "egress", Title: "Egress to the internet by interface", Blocks: []block{
			para{Text: "Records from an internal source to an external destination, by the interface that logged them; NAT marks interfaces that translate addresses (a NAT gateway)."}, et}},
	)
	return d
}

func joinComma(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}
