// Package ingesttest writes small, realistic flow-log inputs for the tests and
// benchmarks of the lake and the ingest pipeline: gzip objects laid out as an
// `aws s3 sync` copy of a flow-log bucket (AWSLogs/ACCOUNT/vpcflowlogs/REGION/
// YYYY/MM/DD/…_YYYYMMDDTHHMMZ_HASH.log.gz), each starting with its header line,
// in the default format and in a version 5 custom format, over several days.
//
// It sits beside ingest and lake only for testing; production code never
// imports it. The main type is Config; Write returns a Truth that counts every
// record written so tests can prove that none was lost or duplicated.
package ingesttest

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

// V5Format is the custom format of the version 5 objects Write produces.
const V5Format = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path"

// DefaultHeader is the header line of objects in AWS's default format.
const DefaultHeader = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"

// Config says what Write produces.
type Config struct {
	Seed           uint64
	Start          time.Time // first object's time (UTC); default 2024-03-01
	Days           int       // default 3
	ObjectsPerDay  int       // default 4
	RecordsPerFile int       // default 500
	// V5Every makes every n-th object use V5Format (0: default 3; -1: never).
	V5Every int
	// KeepKeys records each record's key in Truth.Keys (memory grows with input).
	KeepKeys bool
}

// Key identifies a record for multiset comparisons.
type Key struct {
	Src, Dst         string
	SrcPort, DstPort int64
	Start, Bytes     int64
}

// Truth is what Write wrote.
type Truth struct {
	Files   []string
	Records int64 // record lines (headers excluded)
	Bytes   int64 // sum of the bytes field
	Packets int64 // sum of the packets field
	Start   int64 // sum of the start field
	Days    map[string]int64
	Keys    map[Key]int64 // only with KeepKeys
	GzBytes int64         // total size of the gzip files
}

const account = "123456789012"

var (
	actions  = []string{"ACCEPT", "ACCEPT", "ACCEPT", "ACCEPT", "ACCEPT", "ACCEPT", "ACCEPT", "ACCEPT", "ACCEPT", "REJECT"}
	services = []int64{443, 443, 443, 80, 22, 53, 3306, 5432, 6379, 8080, 123, 3389}
	awsSvc   = []string{"-", "-", "-", "-", "S3", "AMAZON", "EC2", "DYNAMODB"}
)

// Write writes the objects of c under dir and returns what they hold.
func Write(dir string, c Config) (*Truth, error) {
	if c.Start.IsZero() {
		c.Start = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	}
	if c.Days == 0 {
		c.Days = 3
	}
	if c.ObjectsPerDay == 0 {
		c.ObjectsPerDay = 4
	}
	if c.RecordsPerFile == 0 {
		c.RecordsPerFile = 500
	}
	if c.V5Every == 0 {
		c.V5Every = 3
	}
	rng := rand.New(rand.NewPCG(c.Seed, c.Seed^0x9e3779b97f4a7c15))
	t := &Truth{Days: map[string]int64{}}
	if c.KeepKeys {
		t.Keys = map[Key]int64{}
	}
	// A VPC: 64 interfaces with private addresses, 2000 external peers drawn
	// with a skew so that some talk a lot.
	type eni struct{ id, addr, subnet, instance string }
	enis := make([]eni, 64)
	for i := range enis {
		enis[i] = eni{
			id:       fmt.Sprintf("eni-%017x", rng.Uint64()&0xfffffffffffffff),
			addr:     fmt.Sprintf("10.0.%d.%d", i%4, 10+i*3),
			subnet:   fmt.Sprintf("subnet-%017x", uint64(i%4)*0x1111111+0xabc),
			instance: fmt.Sprintf("i-%017x", rng.Uint64()&0xfffffffffffffff),
		}
	}
	peers := make([]string, 2000)
	for i := range peers {
		peers[i] = fmt.Sprintf("%d.%d.%d.%d", 3+rng.IntN(200), rng.IntN(256), rng.IntN(256), 1+rng.IntN(254))
	}
	step := 24 * time.Hour / time.Duration(c.ObjectsPerDay)
	n := 0
	var line []byte
	for d := 0; d < c.Days; d++ {
		for o := 0; o < c.ObjectsPerDay; o++ {
			at := c.Start.Add(time.Duration(d)*24*time.Hour + time.Duration(o)*step)
			v5 := c.V5Every > 0 && n%c.V5Every == c.V5Every-1
			n++
			rel := filepath.Join("AWSLogs", account, "vpcflowlogs", "us-east-1", at.Format("2006"), at.Format("01"), at.Format("02"),
				fmt.Sprintf("%s_vpcflowlogs_us-east-1_fl-0a1b2c3d4e5f60789_%s_%08x.log.gz", account, at.Format("20060102T1504Z"), rng.Uint32()))
			path := filepath.Join(dir, rel)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return nil, err
			}
			f, err := os.Create(path)
			if err != nil {
				return nil, err
			}
			bw := bufio.NewWriterSize(f, 256<<10)
			zw := gzip.NewWriter(bw)
			header := DefaultHeader
			if v5 {
				header = V5Format
			}
			zw.Write([]byte(header + "\n"))
			base := at.Unix()
			for r := 0; r < c.RecordsPerFile; r++ {
				e := enis[rng.IntN(len(enis))]
				start := base + int64(rng.IntN(int(step/time.Second)))
				end := start + int64(rng.IntN(60))
				line = line[:0]
				if rng.IntN(100) == 0 { // an idle interface
					line = fmt.Appendf(line, "2 %s %s - - - - - - - %d %d - NODATA", account, e.id, start, end)
					if v5 {
						line = fmt.Appendf(line, " vpc-0f00ba4 %s %s - - - - us-east-1 use1-az%d - - - - - -", e.subnet, e.instance, 1+e.subnet[len(e.subnet)-1]%3)
					}
					line = append(line, '\n')
					zw.Write(line)
					t.add(c.KeepKeys, Key{Src: "", Dst: "", SrcPort: -1, DstPort: -1, Start: start, Bytes: -1}, 0, 0, start, at)
					continue
				}
				src, dst := e.addr, peers[skew(rng, len(peers))]
				sport, dport := int64(32768+rng.IntN(28000)), services[rng.IntN(len(services))]
				proto := int64(6)
				if dport == 53 || dport == 123 {
					proto = 17
				}
				egress := rng.IntN(2) == 0
				if !egress {
					src, dst = dst, src
					sport, dport = dport, sport
				}
				if rng.IntN(50) == 0 {
					proto, sport, dport = 1, 0, 0
				}
				packets := int64(1 + rng.IntN(rng.IntN(2000)+1))
				bytes := packets * int64(40+rng.IntN(1460))
				action := actions[rng.IntN(len(actions))]
				line = fmt.Appendf(line, "2 %s %s %s %s %d %d %d %d %d %d %d %s OK", account, e.id, src, dst, sport, dport, proto, packets, bytes, start, end, action)
				if v5 {
					dir, path := "ingress", 1
					if egress {
						dir, path = "egress", 2
					}
					line = fmt.Appendf(line, " vpc-0f00ba4 %s %s %d IPv4 %s %s us-east-1 use1-az%d - - %s %s %s %d",
						e.subnet, e.instance, []int{2, 18, 19, 3, 1}[rng.IntN(5)], src, dst, 1+e.subnet[len(e.subnet)-1]%3,
						awsSvc[rng.IntN(len(awsSvc))], awsSvc[rng.IntN(len(awsSvc))], dir, path)
				}
				line = append(line, '\n')
				zw.Write(line)
				t.add(c.KeepKeys, Key{Src: src, Dst: dst, SrcPort: sport, DstPort: dport, Start: start, Bytes: bytes}, bytes, packets, start, at)
			}
			if err := zw.Close(); err != nil {
				return nil, err
			}
			if err := bw.Flush(); err != nil {
				return nil, err
			}
			st, err := f.Stat()
			if err != nil {
				return nil, err
			}
			t.GzBytes += st.Size()
			if err := f.Close(); err != nil {
				return nil, err
			}
			t.Files = append(t.Files, path)
		}
	}
	return t, nil
}

func (t *Truth) add(keep bool, k Key, bytes, packets, start int64, at time.Time) {
	t.Records++
	t.Bytes += bytes
	t.Packets += packets
	t.Start += start
	t.Days[time.Unix(start, 0).UTC().Format("2006-01-02")]++
	if keep {
		t.Keys[k]++
	}
}

// skew picks an index in [0,n) with a heavy head: a few peers get most flows.
func skew(rng *rand.Rand, n int) int {
	x := rng.Float64()
	return int(float64(n) * x * x * x)
}
