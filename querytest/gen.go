package querytest

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// GenOptions configure Generate.
type GenOptions struct {
	// Records is the number of records to write.
	Records int
	// Start is the first day (UTC); zero means 2024-03-01, the guide queries' month.
	Start time.Time
	// Days is the number of days the records spread over; zero means 7.
	Days int
	// Seed makes the output reproducible.
	Seed uint64
	// Header writes AWS's header line first.
	Header bool
}

// CryptoPorts are the mining-pool ports of the guide's SQL query.
var CryptoPorts = []int{4444, 8333, 9999, 14444}

// Generate writes default-format (version 2) flow-log lines of synthetic VPC
// traffic, in start order: ordinary client/server traffic of a few hundred
// hosts, rejected internet noise, port scanners (outside and inside the VPC,
// from 10/8, 172.16/12 and 192.168/16), crypto miners talking to pool ports,
// one large exfiltration flow, and NODATA/SKIPDATA records. It is the stand-in
// for the gen package in the query tests and benchmarks; the tests compute
// their expected answers from the lines, not from these rules.
func Generate(w io.Writer, o GenOptions) error {
	if o.Start.IsZero() {
		o.Start = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	}
	if o.Days <= 0 {
		o.Days = 7
	}
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	bw := bufio.NewWriterSize(w, 1<<20)
	if o.Header {
		bw.WriteString("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n")
	}
	g := &generator{rng: rng}
	g.hosts()
	span := int64(o.Days) * 86400
	base := o.Start.Unix()
	// Starts in order: sorted offsets into the span.
	starts := make([]int64, o.Records)
	for i := range starts {
		starts[i] = base + rng.Int64N(span)
	}
	slices.Sort(starts)
	var line []byte
	for _, s := range starts {
		line = g.record(line[:0], s)
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	return bw.Flush()
}

type generator struct {
	rng      *rand.Rand
	internal []string // VPC hosts, 10.0.0.0/16
	enis     map[string]string
	private  []string // other private ranges
	external []string // internet servers
	noise    []string // internet hosts probing the VPC
	scanners []string
	miners   []string
	pools    []string
}

func (g *generator) hosts() {
	r := g.rng
	g.enis = map[string]string{}
	for i := 0; i < 240; i++ {
		ip := fmt.Sprintf("10.0.%d.%d", i/60, 10+i%60)
		g.internal = append(g.internal, ip)
		g.enis[ip] = fmt.Sprintf("eni-%08x", r.Uint32())
	}
	for i := 0; i < 40; i++ {
		g.private = append(g.private, fmt.Sprintf("172.16.%d.%d", i/10, 20+i%10), fmt.Sprintf("192.168.%d.%d", i/10, 30+i%10))
	}
	for i := 0; i < 3000; i++ {
		g.external = append(g.external, fmt.Sprintf("%d.%d.%d.%d", []int{52, 54, 34, 35, 13, 3}[i%6], r.IntN(256), r.IntN(256), 1+r.IntN(254)))
	}
	for i := 0; i < 300; i++ {
		g.noise = append(g.noise, fmt.Sprintf("%d.%d.%d.%d", []int{45, 89, 185, 193}[i%4], r.IntN(256), r.IntN(256), 1+r.IntN(254)))
	}
	g.scanners = []string{"198.51.100.10", "198.51.100.11", "198.51.100.12", "10.0.9.5", "172.16.5.5", "192.168.1.50"}
	g.miners = []string{"10.0.2.31", "10.0.3.44", "172.16.1.23"}
	g.pools = []string{"5.9.18.7", "95.216.4.19", "144.76.1.88"}
}

var (
	servicePorts = []int{443, 443, 443, 80, 53, 22, 3306, 5432, 6379, 8080}
	probePorts   = []int{22, 23, 445, 3389, 1433, 8080}
)

func (g *generator) record(b []byte, start int64) []byte {
	r := g.rng
	end := start + r.Int64N(60)
	src, dst := "", ""
	srcport, dstport, proto := 32768+r.IntN(28232), 0, 6
	packets := int64(1 + r.IntN(200))
	action := "ACCEPT"
	p := r.IntN(1000)
	switch {
	case p < 8: // flow-log health records
		status := "NODATA"
		if p < 2 {
			status = "SKIPDATA"
		}
		host := g.internal[r.IntN(len(g.internal))]
		b = append(b, "2 123456789012 "...)
		b = append(b, g.enis[host]...)
		b = append(b, " - - - - - - - "...)
		b = strconv.AppendInt(b, start, 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, end, 10)
		b = append(b, " - "...)
		b = append(b, status...)
		return append(b, '\n')
	case p < 80: // internet noise, rejected
		src, dst = g.noise[r.IntN(len(g.noise))], g.internal[r.IntN(len(g.internal))]
		dstport, packets, action = probePorts[r.IntN(len(probePorts))], 1, "REJECT"
	case p < 120: // port scanners
		src = g.scanners[r.IntN(len(g.scanners))]
		dst = g.internal[r.IntN(len(g.internal))]
		dstport, packets = 1+r.IntN(1024), 1
		if r.IntN(5) > 0 {
			action = "REJECT"
		}
	case p < 130: // crypto miners
		src, dst = g.miners[r.IntN(len(g.miners))], g.pools[r.IntN(len(g.pools))]
		dstport = CryptoPorts[r.IntN(len(CryptoPorts))]
		if r.IntN(10) == 0 {
			action = "REJECT"
		}
	case p < 131: // exfiltration: large uploads from one host
		src, dst, dstport = "10.0.1.77", "203.0.113.99", 443
		packets = 50_000 + int64(r.IntN(50_000))
	case p < 180: // other private ranges talking among themselves
		src, dst = g.private[r.IntN(len(g.private))], g.private[r.IntN(len(g.private))]
		dstport = servicePorts[r.IntN(len(servicePorts))]
	default: // clients and servers
		host := g.internal[r.IntN(len(g.internal))]
		peer := g.external[r.IntN(len(g.external))]
		if r.IntN(3) == 0 {
			peer = g.internal[r.IntN(len(g.internal))]
		}
		dstport = servicePorts[r.IntN(len(servicePorts))]
		src, dst = host, peer
		if r.IntN(2) == 0 { // the response direction
			src, dst, srcport, dstport = peer, host, dstport, srcport
		}
		if r.IntN(40) == 0 {
			action = "REJECT"
		}
	}
	if dstport == 53 || srcport == 53 {
		proto = 17
	}
	bytes := packets * int64(40+r.IntN(1400))
	eni, ok := g.enis[src]
	if !ok {
		if eni, ok = g.enis[dst]; !ok {
			eni = "eni-0f00000000000001"
		}
	}
	b = append(b, "2 123456789012 "...)
	b = append(b, eni...)
	b = append(b, ' ')
	b = append(b, src...)
	b = append(b, ' ')
	b = append(b, dst...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(srcport), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(dstport), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(proto), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, packets, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, bytes, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, start, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, end, 10)
	b = append(b, ' ')
	b = append(b, action...)
	return append(b, " OK\n"...)
}
