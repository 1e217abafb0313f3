package gen

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/google/go-cmp/cmp"
)

// rec is a copy of the fields the tests look at.
type rec struct {
	eni, account, vpc, subnet, instance, region, az string
	src, dst, pktSrc, pktDst                        netip.Addr
	srcPort, dstPort, proto, flags, path            int64
	packets, bytes, start, end                      int64
	action, status, dir, srcSvc, dstSvc             string
}

func copyRec(r *flowlog.Record) rec {
	s := func(id flowlog.FieldID) string { v, _ := r.Str(id); return v }
	a := func(id flowlog.FieldID) netip.Addr { v, _ := r.Addr(id); return v }
	i := func(id flowlog.FieldID) int64 {
		v, ok := r.Int(id)
		if !ok {
			return -1
		}
		return v
	}
	return rec{
		eni: s(flowlog.InterfaceID), account: s(flowlog.AccountID), vpc: s(flowlog.VPCID), subnet: s(flowlog.SubnetID),
		instance: s(flowlog.InstanceID), region: s(flowlog.Region), az: s(flowlog.AZID),
		src: a(flowlog.SrcAddr), dst: a(flowlog.DstAddr), pktSrc: a(flowlog.PktSrcAddr), pktDst: a(flowlog.PktDstAddr),
		srcPort: i(flowlog.SrcPort), dstPort: i(flowlog.DstPort), proto: i(flowlog.Protocol), flags: i(flowlog.TCPFlags),
		path: i(flowlog.TrafficPath), packets: i(flowlog.Packets), bytes: i(flowlog.Bytes), start: i(flowlog.Start), end: i(flowlog.End),
		action: s(flowlog.Action), status: s(flowlog.LogStatus), dir: s(flowlog.FlowDirection),
		srcSvc: s(flowlog.PktSrcAWSService), dstSvc: s(flowlog.PktDstAWSService),
	}
}

// run is one generated data set, kept in memory for the shape tests.
type run struct {
	recs  []rec
	sum   Summary
	truth []TruthEvent
}

var (
	dayRun  *run
	dayOnce = map[string]*run{}
)

func streamRun(t testing.TB, cfg Config) *run {
	t.Helper()
	key := fmt.Sprintf("%+v %v", cfg, cfg.Scenarios == nil)
	if r, ok := dayOnce[key]; ok {
		return r
	}
	r := &run{}
	sum, err := Stream(context.Background(), cfg, func(fr *flowlog.Record) error {
		r.recs = append(r.recs, copyRec(fr))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r.sum, r.truth = sum, sum.Truth
	dayOnce[key] = r
	return r
}

func day(t testing.TB) *run {
	if dayRun == nil {
		dayRun = streamRun(t, Config{Records: 200_000, Seed: 7})
	}
	return dayRun
}

// treeHash hashes every file under dir, names and contents.
func treeHash(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(h, "%s %d\n", rel, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestDeterministic(t *testing.T) {
	for _, layout := range []Layout{LayoutS3, LayoutCloudWatch, LayoutFlat} {
		t.Run(string(layout), func(t *testing.T) {
			var hashes []string
			for i, procs := range []int{1, 2, 2} {
				prev := runtime.GOMAXPROCS(procs)
				dir := t.TempDir()
				out := dir
				if layout == LayoutFlat {
					out = filepath.Join(dir, "flows.log.gz")
				}
				cfg := Config{Records: 25_000, Hours: 3, Seed: 11, Layout: layout}
				if i == 2 {
					cfg.Workers = 5 // more workers than CPUs changes nothing either
				}
				_, err := Generate(context.Background(), cfg, out)
				runtime.GOMAXPROCS(prev)
				if err != nil {
					t.Fatal(err)
				}
				hashes = append(hashes, treeHash(t, dir))
			}
			if hashes[0] != hashes[1] || hashes[1] != hashes[2] {
				t.Errorf("output differs between runs: %v", hashes)
			}
		})
	}
	t.Run("seed", func(t *testing.T) {
		a, b := t.TempDir(), t.TempDir()
		if _, err := Generate(context.Background(), Config{Records: 5000, Hours: 1, Seed: 1}, a); err != nil {
			t.Fatal(err)
		}
		if _, err := Generate(context.Background(), Config{Records: 5000, Hours: 1, Seed: 2}, b); err != nil {
			t.Fatal(err)
		}
		if treeHash(t, a) == treeHash(t, b) {
			t.Error("different seeds gave the same output")
		}
	})
}

func TestExactRecordCount(t *testing.T) {
	for _, n := range []int64{50_000, 123_457} {
		var got int64
		sum, err := Stream(context.Background(), Config{Records: n, Hours: 6}, func(*flowlog.Record) error { got++; return nil })
		if err != nil {
			t.Fatal(err)
		}
		if got != n || sum.Records != n {
			t.Errorf("records %d: streamed %d, summary %d", n, got, sum.Records)
		}
	}
}

func TestEveryCategoryLabelled(t *testing.T) {
	r := day(t)
	seen := map[string]int{}
	for _, e := range r.truth {
		seen[e.Category]++
		if e.End.Before(e.Start) || e.Start.Before(r.sum.Start) || e.End.After(r.sum.End) {
			t.Errorf("%s: window %s–%s outside the run %s–%s", e.Scenario, e.Start, e.End, r.sum.Start, r.sum.End)
		}
		if e.Records == 0 && e.Scenario != "flow-log-health/delivery-gap" {
			t.Errorf("%s: no records", e.Scenario)
		}
	}
	for _, c := range Categories {
		if seen[c] == 0 {
			t.Errorf("category %s has no truth event", c)
		}
	}
}

func TestTruthLine(t *testing.T) {
	e := TruthEvent{Category: "port-scan", Src: netip.MustParseAddr("203.0.113.9"),
		Start: time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC), End: time.Date(2024, 3, 1, 10, 5, 7, 0, time.UTC)}
	var b bytes.Buffer
	if err := WriteTruth(&b, []TruthEvent{e}); err != nil {
		t.Fatal(err)
	}
	want := `{"category":"port-scan","src":"203.0.113.9","dst":null,"start":"2024-03-01T10:00:00Z","end":"2024-03-01T10:05:07Z"}` + "\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("truth line (-want +got):\n%s", diff)
	}
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
}

// actorRecords returns the records whose source or destination is a.
func actorRecords(recs []rec, a netip.Addr) []rec {
	var out []rec
	for _, r := range recs {
		if r.src == a || r.dst == a {
			out = append(out, r)
		}
	}
	return out
}

func inWindow(r rec, e TruthEvent) bool {
	return r.start >= e.Start.Unix() && r.start <= e.End.Unix()
}

func TestScenarioShapes(t *testing.T) {
	r := day(t)
	threats := threatPrefixes(t, Config{Records: 200_000, Seed: 7})
	for _, e := range r.truth {
		t.Run(e.Scenario, func(t *testing.T) {
			var recs []rec // the attack's records: the actor's, or the target's, inside the window
			for _, x := range r.recs {
				if !inWindow(x, e) {
					continue
				}
				if e.Src.IsValid() && x.src != e.Src && x.dst != e.Src {
					continue
				}
				if !e.Src.IsValid() && e.Dst.IsValid() && x.src != e.Dst && x.dst != e.Dst {
					continue
				}
				recs = append(recs, x)
			}
			fromSrc := func(x rec) bool { return x.src == e.Src }
			switch e.Category {
			case "port-scan":
				ports := map[int64]bool{}
				for _, x := range recs {
					if fromSrc(x) && x.dst == e.Dst && x.dir == "ingress" {
						ports[x.dstPort] = true
					}
				}
				want := 50
				if strings.Contains(e.Scenario, "blatant") {
					want = 500
				}
				if len(ports) < want {
					t.Errorf("%d distinct ports on %s, want at least %d", len(ports), e.Dst, want)
				}
			case "port-sweep":
				hosts, ports := map[netip.Addr]bool{}, map[int64]bool{}
				for _, x := range recs {
					if fromSrc(x) && x.dir == "egress" && x.flags == flagsProbe {
						hosts[x.dst] = true
						ports[x.dstPort] = true
					}
				}
				if len(hosts) < 25 || len(ports) != 1 {
					t.Errorf("%d hosts on %d ports, want at least 25 hosts on one port", len(hosts), len(ports))
				}
			case "brute-force":
				n := 0
				for _, x := range recs {
					if fromSrc(x) && x.dst == e.Dst && x.action == "ACCEPT" && (x.dstPort == 22 || x.dstPort == 3389) {
						n++
					}
				}
				if n < 40 {
					t.Errorf("%d accepted login sessions, want at least 40", n)
				}
			case "data-exfiltration":
				var sent int64
				for _, x := range recs {
					if fromSrc(x) && x.dst == e.Dst && x.dir == "egress" {
						sent += x.bytes
					}
				}
				if sent < 400e6 {
					t.Errorf("%d bytes sent to %s, want at least 400 MB", sent, e.Dst)
				}
			case "crypto-mining":
				mins := 0
				for _, x := range recs {
					if fromSrc(x) && x.dst == e.Dst && x.dir == "egress" {
						if x.dstPort != 3333 && x.dstPort != 14444 {
							t.Fatalf("mining on port %d", x.dstPort)
						}
						mins++
					}
				}
				if mins < 30 {
					t.Errorf("%d minutes of mining, want at least 30", mins)
				}
			case "lateral-movement":
				hosts := map[netip.Addr]bool{}
				for _, x := range recs {
					if fromSrc(x) && x.dstPort == 22 && x.action == "ACCEPT" && x.dst.IsPrivate() {
						hosts[x.dst] = true
					}
				}
				if len(hosts) < 4 {
					t.Errorf("SSH to %d internal hosts, want at least 4", len(hosts))
				}
			case "c2-beaconing":
				var starts []float64
				for _, x := range recs {
					if fromSrc(x) && x.dst == e.Dst && x.dir == "egress" && x.flags&flagSYN != 0 {
						starts = append(starts, float64(x.start))
					}
				}
				sort.Float64s(starts)
				if len(starts) < 10 {
					t.Fatalf("%d beacons, want at least 10", len(starts))
				}
				var gaps []float64
				for i := 1; i < len(starts); i++ {
					gaps = append(gaps, starts[i]-starts[i-1])
				}
				mean, sd := meanSD(gaps)
				if sd/mean > 0.1 {
					t.Errorf("beacon intervals mean %.1f s, sd %.1f s: jitter %.0f%%, want under 10%%", mean, sd, 100*sd/mean)
				}
			case "threat-intel":
				bad := e.Src
				if bad.IsPrivate() {
					bad = e.Dst
				}
				if !containsAddr(threats, bad) {
					t.Errorf("%s is not on the threat list", bad)
				}
				if len(recs) < 6 {
					t.Errorf("%d records, want at least 6", len(recs))
				}
			case "exposed-service":
				srcs := map[netip.Addr]bool{}
				for _, x := range recs {
					if x.dst == e.Dst && x.action == "ACCEPT" && !x.src.IsPrivate() && (x.dstPort == 9200 || x.dstPort == 27017) {
						srcs[x.src] = true
					}
				}
				if len(srcs) < 4 {
					t.Errorf("%d internet sources reached the service, want at least 4", len(srcs))
				}
			case "rejected-spike":
				n := 0
				for _, x := range recs {
					if x.dst == e.Dst && x.action == "REJECT" {
						n++
					}
				}
				minutes := e.End.Sub(e.Start).Minutes()
				if float64(n)/minutes < 60 {
					t.Errorf("%.0f rejects a minute at %s, want at least 60", float64(n)/minutes, e.Dst)
				}
			case "unusual-port":
				for _, x := range recs {
					if fromSrc(x) && x.dst == e.Dst && x.dstPort != 6667 && x.dstPort != 2222 {
						t.Fatalf("unusual-port record to port %d", x.dstPort)
					}
				}
				if len(recs) < 6 {
					t.Errorf("%d records, want at least 6", len(recs))
				}
			case "flow-log-health":
				skip := 0
				for _, x := range r.recs {
					if inWindow(x, e) && x.status == "SKIPDATA" {
						skip++
					}
				}
				if strings.HasSuffix(e.Scenario, "skipdata") && skip < 40 {
					t.Errorf("%d SKIPDATA records, want at least 40", skip)
				}
				if strings.HasSuffix(e.Scenario, "delivery-gap") {
					staging := buildTopology(7).vpcs[1].id
					for _, x := range r.recs {
						if x.vpc == staging && x.start >= e.Start.Unix() && x.start < e.End.Unix() {
							t.Fatalf("staging record at %d inside the delivery gap", x.start)
						}
					}
				}
			default:
				t.Fatalf("no shape check for %s", e.Category)
			}
		})
	}
}

func meanSD(xs []float64) (float64, float64) {
	var s, ss float64
	for _, x := range xs {
		s += x
	}
	m := s / float64(len(xs))
	for _, x := range xs {
		ss += (x - m) * (x - m)
	}
	return m, math.Sqrt(ss / float64(len(xs)))
}

func threatPrefixes(t *testing.T, cfg Config) []netip.Prefix {
	var b bytes.Buffer
	if err := WriteThreatList(&b, cfg); err != nil {
		t.Fatal(err)
	}
	var out []netip.Prefix
	for i, line := range strings.Split(b.String(), "\n") {
		if j := strings.IndexByte(line, '#'); j >= 0 {
			line = line[:j]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if !strings.Contains(line, "/") {
			line += "/32"
		}
		p, err := netip.ParsePrefix(line)
		if err != nil {
			t.Fatalf("threat list line %d: %v", i+1, err)
		}
		out = append(out, p)
	}
	return out
}

func containsAddr(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// TestBenignIsClean checks that benign traffic alone trips nothing a sensible
// detector looks for, while still holding its false-positive traps.
func TestBenignIsClean(t *testing.T) {
	r := streamRun(t, Config{Records: 200_000, Seed: 7, Scenarios: []string{}})
	if len(r.truth) != 0 {
		t.Fatalf("scenarios none: %d truth events", len(r.truth))
	}
	threats := threatPrefixes(t, Config{Records: 200_000, Seed: 7})
	bad := map[int64]bool{3333: true, 4444: true, 5555: true, 8333: true, 9999: true, 14444: true, 6667: true, 2222: true}
	probePorts := map[netip.Addr]map[int64]bool{}
	var backupBytes int64
	for _, x := range r.recs {
		if x.status != "OK" {
			if x.status != "NODATA" {
				t.Fatalf("benign %s record", x.status)
			}
			continue
		}
		if containsAddr(threats, x.src) || containsAddr(threats, x.dst) {
			t.Fatalf("benign record touches the threat list: %+v", x)
		}
		if x.action == "ACCEPT" && (bad[x.dstPort] || bad[x.srcPort]) {
			t.Fatalf("benign accepted record on a suspicious port: %+v", x)
		}
		if x.action == "REJECT" && !x.src.IsPrivate() {
			if probePorts[x.src] == nil {
				probePorts[x.src] = map[int64]bool{}
			}
			probePorts[x.src][x.dstPort] = true
		}
		if x.dstSvc == "S3" && x.dir == "egress" {
			backupBytes += x.bytes
		}
	}
	if len(probePorts) < 1000 {
		t.Errorf("%d background scanners, want thousands", len(probePorts))
	}
	for a, ps := range probePorts {
		if len(ps) > 4 {
			t.Errorf("background scanner %s probed %d ports, want at most 4", a, len(ps))
		}
	}
	if backupBytes < 20e9 {
		t.Errorf("%d bytes to S3, want the nightly multi-GB backups", backupBytes)
	}
}

// TestRecordShape checks the topology and the fields AWS fills.
func TestRecordShape(t *testing.T) {
	r := day(t)
	type meta struct{ account, vpc, subnet, instance, region, az string }
	enis := map[string]meta{}
	counts := map[string]int{}
	hours := make([]int, 24)
	for _, x := range r.recs {
		m := meta{x.account, x.vpc, x.subnet, x.instance, x.region, x.az}
		if prev, ok := enis[x.eni]; ok && prev != m {
			t.Fatalf("%s: metadata changes: %+v then %+v", x.eni, prev, m)
		}
		enis[x.eni] = m
		hours[time.Unix(x.start, 0).UTC().Hour()]++
		if x.status != "OK" {
			counts[x.status]++
			continue
		}
		if x.end < x.start || x.end-x.start > 60 {
			t.Fatalf("record spans %d s", x.end-x.start)
		}
		if x.packets < 1 || x.bytes < 40*x.packets || x.bytes > 9001*x.packets {
			t.Fatalf("implausible packets/bytes %d/%d", x.packets, x.bytes)
		}
		switch x.dir {
		case "egress":
			if x.path < 1 {
				t.Fatalf("egress without traffic-path: %+v", x)
			}
		case "ingress":
			if x.path != -1 {
				t.Fatalf("ingress with traffic-path: %+v", x)
			}
		default:
			t.Fatalf("flow-direction %q", x.dir)
		}
		if x.action == "REJECT" && x.flags != flagsProbe {
			t.Fatalf("rejected record with tcp-flags %d", x.flags)
		}
		if x.proto == protoTCP && x.action == "ACCEPT" {
			counts[fmt.Sprintf("flags-%d", x.flags)]++
		}
		if x.pktSrc != x.src || x.pktDst != x.dst {
			counts["nat"]++
		}
		if x.dstSvc != "" || x.srcSvc != "" {
			counts["aws-service"]++
		}
		counts["dir-"+x.dir]++
	}
	if len(enis) < 200 {
		t.Errorf("%d interfaces, want hundreds", len(enis))
	}
	for _, k := range []string{"NODATA", "SKIPDATA", "nat", "aws-service", "flags-19", "flags-27"} {
		if counts[k] == 0 {
			t.Errorf("no %s records", k)
		}
	}
	if d := float64(counts["dir-ingress"]) / float64(counts["dir-egress"]); d < 0.8 || d > 1.5 {
		t.Errorf("ingress/egress ratio %.2f", d)
	}
	// Diurnal: the afternoon is busier than the small hours.
	if hours[15] < 2*hours[3] {
		t.Errorf("15:00 has %d records, 03:00 %d: want a diurnal curve", hours[15], hours[3])
	}
}

// TestConversationsBothWays: every accepted record on one of our interfaces
// has its reply on the same interface.
func TestConversationsBothWays(t *testing.T) {
	r := day(t)
	type key struct {
		eni              string
		src, dst         netip.Addr
		srcPort, dstPort int64
	}
	seen := map[key]bool{}
	for _, x := range r.recs {
		if x.status == "OK" {
			seen[key{x.eni, x.src, x.dst, x.srcPort, x.dstPort}] = true
		}
	}
	missing, total := 0, 0
	for _, x := range r.recs {
		if x.status != "OK" || x.action != "ACCEPT" || x.proto != protoTCP || x.flags == flagsProbe {
			continue
		}
		total++
		if !seen[key{x.eni, x.dst, x.src, x.dstPort, x.srcPort}] {
			missing++
		}
	}
	if missing > 0 || total == 0 {
		t.Errorf("%d of %d accepted TCP records lack the reverse direction on their interface", missing, total)
	}
}

func TestParseBack(t *testing.T) {
	formats := map[string]string{
		"v2": "v2", "v5": "v5", "v8": "v8",
		"custom": "${version} ${vpc-id} ${interface-id} ${srcaddr} ${dstaddr} ${dstport} ${action} ${tcp-flags} ${flow-direction} ${ecs-task-id} ${my-field}",
	}
	for _, layout := range []Layout{LayoutS3, LayoutCloudWatch, LayoutFlat} {
		for name, spec := range formats {
			t.Run(string(layout)+"/"+name, func(t *testing.T) {
				f, err := ParseFormat(spec)
				if err != nil {
					t.Fatal(err)
				}
				dir := t.TempDir()
				out := dir
				if layout == LayoutFlat {
					out = filepath.Join(dir, "flows.log")
				}
				sum, err := Generate(context.Background(), Config{Records: 20_000, Hours: 2, Format: f, Layout: layout}, out)
				if err != nil {
					t.Fatal(err)
				}
				var n int64
				files := 0
				err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
					if err != nil || d.IsDir() {
						return err
					}
					files++
					c, err := parseFile(t, p, layout, f)
					n += c
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				if n != sum.Records || files != sum.Files {
					t.Errorf("parsed %d records in %d files, summary says %d in %d", n, files, sum.Records, sum.Files)
				}
			})
		}
	}
}

// parseFile reads one output file back with flowlog's Scanner and counts records.
func parseFile(t *testing.T, path string, layout Layout, f *flowlog.Format) (int64, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var text io.Reader = bytes.NewReader(raw)
	opts := flowlog.ScanOptions{}
	switch layout {
	case LayoutS3:
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		zr.Multistream(false)
		text = zr
	case LayoutCloudWatch:
		var doc struct {
			Events []struct {
				LogStreamName string `json:"logStreamName"`
				Timestamp     int64  `json:"timestamp"`
				Message       string `json:"message"`
				IngestionTime int64  `json:"ingestionTime"`
				EventID       string `json:"eventId"`
			} `json:"events"`
			SearchedLogStreams []struct {
				LogStreamName      string `json:"logStreamName"`
				SearchedCompletely bool   `json:"searchedCompletely"`
			} `json:"searchedLogStreams"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		stream := strings.TrimSuffix(filepath.Base(path), ".json")
		if len(doc.SearchedLogStreams) != 1 || doc.SearchedLogStreams[0].LogStreamName != stream {
			return 0, fmt.Errorf("%s: searchedLogStreams %+v", path, doc.SearchedLogStreams)
		}
		var b bytes.Buffer
		prev := int64(0)
		for _, e := range doc.Events {
			if e.LogStreamName != stream || len(e.EventID) != 56 || e.IngestionTime <= e.Timestamp || e.Timestamp < prev {
				return 0, fmt.Errorf("%s: bad event %+v", path, e)
			}
			prev = e.Timestamp
			b.WriteString(e.Message)
			b.WriteByte('\n')
		}
		text = &b
		opts.Format = f
		// Each message's start is its event timestamp.
		defer func() {}()
		sc := flowlog.NewScanner(bytes.NewReader(b.Bytes()), opts)
		for i := 0; ; i++ {
			r, err := sc.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return 0, fmt.Errorf("%s: %w", path, err)
			}
			if st, ok := r.Int(flowlog.Start); ok && st*1000 != doc.Events[i].Timestamp {
				return 0, fmt.Errorf("%s: event %d timestamp %d, record start %d", path, i, doc.Events[i].Timestamp, st)
			}
			if eni, ok := r.Str(flowlog.InterfaceID); ok && eni+"-all" != stream {
				return 0, fmt.Errorf("%s: record of %s", path, eni)
			}
		}
		if sc.Headers() != 0 {
			return 0, fmt.Errorf("%s: a header line in CloudWatch messages", path)
		}
	}
	sc := flowlog.NewScanner(text, opts)
	var n int64
	for {
		r, err := sc.Next()
		if err == io.EOF {
			break
		}
		var le *flowlog.LineError
		if errors.As(err, &le) {
			return n, fmt.Errorf("%s:%d: %v", path, le.Line, le.Err)
		}
		if err != nil {
			return n, fmt.Errorf("%s: %w", path, err)
		}
		if !sc.Format().Equal(f) {
			return n, fmt.Errorf("%s: read as %s, want %s", path, sc.Format().Header(), f.Header())
		}
		_ = r
		n++
	}
	if layout != LayoutCloudWatch && sc.Headers() != 1 {
		return n, fmt.Errorf("%s: %d header lines, want 1", path, sc.Headers())
	}
	return n, nil
}

var s3KeyRE = regexp.MustCompile(`^AWSLogs/(\d{12})/vpcflowlogs/([a-z]{2}-[a-z]+-\d)/(\d{4})/(\d{2})/(\d{2})/(\d{12})_vpcflowlogs_([a-z]{2}-[a-z]+-\d)_(fl-[0-9a-f]{17})_(\d{8}T\d{4}Z)_([0-9a-f]{8})\.log\.gz$`)

func TestS3Layout(t *testing.T) {
	dir := t.TempDir()
	sum, err := Generate(context.Background(), Config{Records: 30_000, Hours: 1, Start: time.Date(2024, 3, 31, 23, 30, 0, 0, time.UTC)}, dir)
	if err != nil {
		t.Fatal(err)
	}
	perWindow := map[string]int{}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		key, _ := filepath.Rel(dir, p)
		key = filepath.ToSlash(key)
		m := s3KeyRE.FindStringSubmatch(key)
		if m == nil {
			t.Fatalf("key %s does not match AWS's naming", key)
		}
		if m[1] != m[6] || m[2] != m[7] {
			t.Errorf("%s: account or Region differ between path and name", key)
		}
		end, err := time.Parse("20060102T1504Z", m[9])
		if err != nil || end.Minute()%5 != 0 {
			t.Fatalf("%s: time %s is not a 5-minute boundary", key, m[9])
		}
		if got := end.Format("2006/01/02"); got != m[3]+"/"+m[4]+"/"+m[5] {
			t.Errorf("%s: folder date %s/%s/%s, name date %s", key, m[3], m[4], m[5], got)
		}
		perWindow[m[8]+m[9]]++
		// Every record starts inside the 5 minutes that end at the name's time.
		zr, err := gzip.NewReader(mustOpen(t, p))
		if err != nil {
			t.Fatal(err)
		}
		sc := flowlog.NewScanner(zr, flowlog.ScanOptions{})
		for {
			r, err := sc.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			st, _ := r.Int(flowlog.Start)
			if st < end.Unix()-300 || st >= end.Unix() {
				t.Fatalf("%s: record start %d outside its window", key, st)
			}
			acct, _ := r.Str(flowlog.AccountID)
			region, _ := r.Str(flowlog.Region)
			if acct != m[1] || region != m[2] {
				t.Fatalf("%s: record of account %s Region %s", key, acct, region)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, n := range perWindow {
		if n != 1 {
			t.Errorf("%s: %d objects, want one per window and flow log", k, n)
		}
	}
	if len(perWindow) != sum.Files {
		t.Errorf("%d objects, summary says %d", len(perWindow), sum.Files)
	}
	// The window ending at midnight goes into the next day's folder.
	if _, err := os.Stat(filepath.Join(dir, "AWSLogs")); err != nil {
		t.Fatal(err)
	}
	found := false
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if strings.Contains(p, "/2024/04/01/") && strings.Contains(p, "_20240401T0000Z_") {
			found = true
		}
		return nil
	})
	if !found {
		t.Error("no object for the window ending 2024-04-01T00:00Z under 2024/04/01")
	}
}

func mustOpen(t *testing.T, p string) io.Reader {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}

func TestCloudWatchLayoutNames(t *testing.T) {
	dir := t.TempDir()
	if _, err := Generate(context.Background(), Config{Records: 5000, Hours: 1, Layout: LayoutCloudWatch}, dir); err != nil {
		t.Fatal(err)
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*"))
	re := regexp.MustCompile(`^eni-0[0-9a-f]{16}-all\.json$`)
	for _, n := range names {
		if !re.MatchString(filepath.Base(n)) {
			t.Errorf("file %s is not a log stream eni-…-all.json", n)
		}
	}
	if len(names) < 100 {
		t.Errorf("%d log streams", len(names))
	}
}

func TestScenariosNone(t *testing.T) {
	dir := t.TempDir()
	sum, err := Generate(context.Background(), Config{Records: 5000, Hours: 2, Scenarios: []string{}, Layout: LayoutFlat}, filepath.Join(dir, "f.log"))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteTruth(&b, sum.Truth); err != nil {
		t.Fatal(err)
	}
	if b.Len() != 0 {
		t.Errorf("truth file for no scenarios:\n%s", b.String())
	}
}

func TestSelectedScenarios(t *testing.T) {
	all, err := Truth(Config{Records: 100_000})
	if err != nil {
		t.Fatal(err)
	}
	some, err := Truth(Config{Records: 100_000, Scenarios: []string{"port-scan", "c2-beaconing"}})
	if err != nil {
		t.Fatal(err)
	}
	var want []TruthEvent
	for _, e := range all {
		if e.Category == "port-scan" || e.Category == "c2-beaconing" {
			want = append(want, e)
		}
	}
	// Choosing a subset never moves the chosen attacks.
	if diff := cmp.Diff(want, some, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("subset differs (-want +got):\n%s", diff)
	}
}

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"all", nil, false},
		{"", nil, false},
		{"none", []string{}, false},
		{"port-scan, c2-beaconing,port-scan", []string{"port-scan", "c2-beaconing"}, false},
		{"port-scan,nope", nil, true},
	} {
		got, err := ParseScenarios(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseScenarios(%q) error %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseScenarios(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
	for _, tc := range []struct {
		in      string
		fields  int
		version int
		wantErr bool
	}{
		{"v2", 14, 2, false},
		{"v5", 29, 5, false},
		{"v8", 40, 8, false},
		{"V3", 21, 3, false},
		{"${srcaddr} ${dstaddr}", 2, 2, false},
		{"v6", 0, 0, true},
		{"v12", 0, 0, true},
		{"${srcaddr", 0, 0, true},
	} {
		f, err := ParseFormat(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseFormat(%q) error %v", tc.in, err)
			continue
		}
		if err == nil && (f.Len() != tc.fields || f.Version() != tc.version) {
			t.Errorf("ParseFormat(%q): %d fields version %d, want %d and %d", tc.in, f.Len(), f.Version(), tc.fields, tc.version)
		}
	}
	if !slices.Equal(Categories, []string{"port-scan", "port-sweep", "brute-force", "data-exfiltration", "crypto-mining",
		"lateral-movement", "c2-beaconing", "threat-intel", "exposed-service", "rejected-spike", "unusual-port", "flow-log-health"}) {
		t.Error("categories differ from DESIGN §6")
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{{Records: -1}, {Hours: -2}, {Layout: "zip"}, {Scenarios: []string{"x"}}} {
		if _, err := Stream(context.Background(), cfg, func(*flowlog.Record) error { return nil }); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
	// An error from the callback stops the run and comes back.
	stop := errors.New("stop")
	n := 0
	_, err := Stream(context.Background(), Config{Records: 100_000}, func(*flowlog.Record) error {
		if n++; n == 1000 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("error %v, want stop", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Generate(ctx, Config{Records: 100_000}, t.TempDir()); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v", err)
	}
}

func BenchmarkGenerate(b *testing.B) {
	const n = 500_000
	dir := b.TempDir()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out := filepath.Join(dir, fmt.Sprint(i))
		if _, err := Generate(context.Background(), Config{Records: n}, out); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.RemoveAll(out)
		b.StartTimer()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkStream(b *testing.B) {
	const n = 500_000
	for i := 0; i < b.N; i++ {
		if _, err := Stream(context.Background(), Config{Records: n}, func(*flowlog.Record) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// TestThreatList: every line parses, the threat-intel scenario's addresses are
// listed, and no record at all touches a decoy.
func TestThreatList(t *testing.T) {
	r := day(t)
	var decoys []netip.Prefix
	for _, d := range threatDecoys {
		decoys = append(decoys, netip.MustParsePrefix(d))
	}
	listed := threatPrefixes(t, Config{Records: 200_000, Seed: 7})
	for _, d := range decoys {
		if !containsAddr(listed, d.Addr().Next()) {
			t.Errorf("decoy %s is not on the list", d)
		}
	}
	for _, x := range r.recs {
		if x.status == "OK" && (containsAddr(decoys, x.src) || containsAddr(decoys, x.dst)) {
			t.Fatalf("record touches a decoy: %+v", x)
		}
	}
	n := 0
	for _, e := range r.truth {
		if e.Category == "threat-intel" {
			n++
		}
	}
	if n < 2 {
		t.Errorf("%d threat-intel events", n)
	}
}
