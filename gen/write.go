package gen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/klauspost/compress/flate"
)

// gzipLevel trades size for speed; level 5 of klauspost/compress is close to
// gzip -6 in size at several times its speed.
const gzipLevel = 5

// worker holds one goroutine's reusable state.
type worker struct {
	p    *plan
	rec  flowlog.Record
	tmp  []flow
	zw   *flate.Writer
	free chan *result
}

// result is what a worker made of one unit.
type result struct {
	flows   []flow
	chunks  []chunk
	bufs    [][]byte // per stream, reused
	zbufs   [][]byte
	records int
}

// chunk is one stream's share of a unit: raw text and, for gzip outputs, the
// same text as sync-flushed deflate blocks that can be concatenated.
type chunk struct {
	stream int
	raw    []byte
	z      []byte
}

func (w *worker) newResult() *result {
	select {
	case r := <-w.free:
		r.chunks = r.chunks[:0]
		r.records = 0
		return r
	default:
		return &result{}
	}
}

// run generates every unit on cfg.Workers goroutines and hands the results to
// consume in unit order, so the output never depends on scheduling.
func (p *plan) run(ctx context.Context, work func(*worker, *unit) *result, consume func(*unit, *result) error) error {
	nw := p.cfg.Workers
	type job struct {
		u   *unit
		out chan *result
	}
	jobs := make(chan job)
	order := make(chan job, 2*nw)
	done := make(chan struct{})
	free := make(chan *result, 3*nw+2)
	var wg sync.WaitGroup
	for i := 0; i < nw; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{p: p, free: free}
			for j := range jobs {
				j.out <- work(w, j.u)
			}
		}()
	}
	go func() {
		defer close(jobs)
		defer close(order)
		for i := range p.units {
			j := job{u: &p.units[i], out: make(chan *result, 1)}
			select {
			case order <- j:
			case <-done:
				return
			}
			select {
			case jobs <- j:
			case <-done:
				return
			}
		}
	}()
	var err error
	var written int64
	for j := range order {
		r := <-j.out
		if err = ctx.Err(); err != nil {
			break
		}
		if err = consume(j.u, r); err != nil {
			break
		}
		written += int64(r.records)
		if p.cfg.Progress != nil {
			p.cfg.Progress(written)
		}
		select {
		case free <- r:
		default:
		}
	}
	close(done)
	// Workers never block (each job's channel holds its result), so draining
	// the queue lets the producer and the workers finish.
	for range order {
	}
	wg.Wait()
	return err
}

// Generate writes cfg's records under out in cfg.Layout: for s3 and cloudwatch
// out is a folder; for flat it is the file (gzip when it ends in .gz), or a
// folder that gets flowlogs.log.
func Generate(ctx context.Context, cfg Config, out string) (Summary, error) {
	began := time.Now()
	p, err := newPlan(cfg)
	if err != nil {
		return Summary{}, err
	}
	sum := p.summary()
	var sink layoutSink
	switch p.cfg.Layout {
	case LayoutS3:
		sink = &s3Sink{p: p, root: out, open: make([]*gzipFile, len(p.topo.vpcs))}
	case LayoutCloudWatch:
		sink = &cloudWatchSink{p: p, root: out, files: make([]*cwFile, len(p.topo.hosts))}
	case LayoutFlat:
		if st, err := os.Stat(out); (err == nil && st.IsDir()) || strings.HasSuffix(out, string(os.PathSeparator)) {
			out = filepath.Join(out, "flowlogs.log")
		}
		sink = &flatSink{p: p, path: out, gz: strings.HasSuffix(out, ".gz")}
	}
	if err := sink.begin(); err != nil {
		return sum, err
	}
	compress := sink.compressed()
	err = p.run(ctx, func(w *worker, u *unit) *result {
		r := w.newResult()
		r.flows, w.tmp = p.generate(u, r.flows, w.tmp)
		r.records = len(r.flows)
		w.render(u, r, p.cfg.Layout, compress)
		return r
	}, func(u *unit, r *result) error {
		if err := sink.write(u, r); err != nil {
			return err
		}
		sum.Records += int64(r.records)
		return nil
	})
	files, bytes, cerr := sink.end(err == nil)
	if err == nil {
		err = cerr
	}
	sum.Files, sum.Bytes = files, bytes
	sum.Elapsed = time.Since(began)
	return sum, err
}

// render turns a unit's records into per-stream text (and deflate blocks).
func (w *worker) render(u *unit, r *result, layout Layout, compress bool) {
	p := w.p
	nStreams := 1
	switch layout {
	case LayoutS3:
		nStreams = len(p.topo.vpcs)
	case LayoutCloudWatch:
		nStreams = len(p.topo.hosts)
	}
	for len(r.bufs) < nStreams {
		r.bufs = append(r.bufs, nil)
		r.zbufs = append(r.zbufs, nil)
	}
	bufs := r.bufs[:nStreams]
	for i := range bufs {
		bufs[i] = bufs[i][:0]
	}
	var cw rng
	if layout == LayoutCloudWatch {
		cw = seeded(p.seed, hashString("cloudwatch"), uint64(u.idx))
	}
	for i := range r.flows {
		f := &r.flows[i]
		f.fill(&w.rec, p.version)
		switch layout {
		case LayoutS3:
			b := &bufs[f.h.vpc.idx]
			*b = p.format.Append(*b, &w.rec)
			*b = append(*b, '\n')
		case LayoutFlat:
			bufs[0] = p.format.Append(bufs[0], &w.rec)
			bufs[0] = append(bufs[0], '\n')
		case LayoutCloudWatch:
			b := &bufs[f.h.idx]
			if len(*b) > 0 {
				*b = append(*b, ",\n"...)
			}
			*b = appendEvent(*b, f, p.format, &w.rec, &cw)
		}
	}
	for s, b := range bufs {
		if len(b) == 0 {
			continue
		}
		c := chunk{stream: s, raw: b}
		if compress {
			r.zbufs[s] = w.deflate(r.zbufs[s], b)
			c.z = r.zbufs[s]
		}
		r.chunks = append(r.chunks, c)
	}
}

// deflate compresses b into sync-flushed deflate blocks: byte-aligned, not
// final, so blocks from different workers concatenate into one stream.
func (w *worker) deflate(dst, b []byte) []byte {
	buf := bytes.NewBuffer(dst[:0])
	if w.zw == nil {
		w.zw, _ = flate.NewWriter(buf, gzipLevel)
	} else {
		w.zw.Reset(buf)
	}
	w.zw.Write(b)
	w.zw.Flush()
	return buf.Bytes()
}

// appendEvent appends one filter-log-events event as the AWS CLI prints it.
func appendEvent(b []byte, f *flow, format *flowlog.Format, rec *flowlog.Record, r *rng) []byte {
	ts := f.start * 1000
	b = append(b, "        {\n            \"logStreamName\": \""...)
	b = append(b, f.h.stream...)
	b = append(b, "\",\n            \"timestamp\": "...)
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, ",\n            \"message\": \""...)
	mark := len(b)
	b = format.Append(b, rec)
	if bytes.ContainsAny(b[mark:], "\"\\") {
		line := string(b[mark:])
		b = appendJSONString(b[:mark-1], line)
	} else {
		b = append(b, '"')
	}
	b = append(b, ",\n            \"ingestionTime\": "...)
	// CloudWatch Logs receives a record a few minutes after its interval ends.
	b = strconv.AppendInt(b, f.end*1000+int64(r.between(60_000, 600_000)), 10)
	b = append(b, ",\n            \"eventId\": \""...)
	for i := 0; i < 56; i++ {
		b = append(b, byte('0'+r.intn(10)))
	}
	return append(b, "\"\n        }"...)
}

// layoutSink writes results in unit order.
type layoutSink interface {
	begin() error
	compressed() bool
	write(u *unit, r *result) error
	// end closes everything; complete is false after an error.
	end(complete bool) (files int, bytes int64, err error)
}

// gzipFile is one gzip member assembled from deflate blocks made by workers.
type gzipFile struct {
	f    *os.File
	w    *bufio.Writer
	crc  uint32
	size uint32
	n    int64
}

// gzipHeader: magic, deflate, no flags, no mtime (so output is reproducible), OS unknown.
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}

// createGzip starts a gzip file at path with header (may be nil) as its first
// text; w, when not nil, is a writer to reuse.
func createGzip(path string, header []byte, w *bufio.Writer) (*gzipFile, error) {
	f, err := os.Create(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("create folder for %s: %w", path, err)
		}
		f, err = os.Create(path)
	}
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	if w == nil {
		w = bufio.NewWriterSize(f, 256<<10)
	} else {
		w.Reset(f)
	}
	g := &gzipFile{f: f, w: w}
	g.w.Write(gzipHeader)
	g.n += int64(len(gzipHeader))
	if len(header) > 0 {
		// The header line as a stored (uncompressed) deflate block.
		n := len(header)
		g.w.Write([]byte{0, byte(n), byte(n >> 8), ^byte(n), ^byte(n >> 8)})
		g.w.Write(header)
		g.n += int64(5 + n)
		g.add(header)
	}
	return g, nil
}

func (g *gzipFile) add(raw []byte) {
	g.crc = crc32.Update(g.crc, crc32.IEEETable, raw)
	g.size += uint32(len(raw))
}

func (g *gzipFile) write(c *chunk) error {
	g.add(c.raw)
	n, err := g.w.Write(c.z)
	g.n += int64(n)
	return err
}

// close ends the deflate stream with an empty final block and writes the trailer.
func (g *gzipFile) close() error {
	var tr [10]byte
	tr[0], tr[1] = 0x03, 0x00
	binary.LittleEndian.PutUint32(tr[2:], g.crc)
	binary.LittleEndian.PutUint32(tr[6:], g.size)
	g.w.Write(tr[:])
	g.n += int64(len(tr))
	if err := g.w.Flush(); err != nil {
		g.f.Close()
		return fmt.Errorf("write %s: %w", g.f.Name(), err)
	}
	if err := g.f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", g.f.Name(), err)
	}
	return nil
}

// s3Sink writes AWS's S3 delivery layout.
type s3Sink struct {
	p      *plan
	root   string
	header []byte
	open   []*gzipFile
	spare  []*bufio.Writer
	files  int
	bytes  int64
}

func (s *s3Sink) begin() error     { return os.MkdirAll(s.root, 0o755) }
func (s *s3Sink) compressed() bool { return true }

// S3Key returns the object key AWS gives the flow log's file for the 5-minute
// window that ends at end: the time in the name is the end of the window.
func S3Key(account, region, flowLogID string, end time.Time, hash string) string {
	end = end.UTC()
	return fmt.Sprintf("AWSLogs/%s/vpcflowlogs/%s/%04d/%02d/%02d/%s_vpcflowlogs_%s_%s_%s_%s.log.gz",
		account, region, end.Year(), int(end.Month()), end.Day(),
		account, region, flowLogID, end.Format("20060102T1504Z"), hash)
}

func (s *s3Sink) write(u *unit, r *result) error {
	for i := range r.chunks {
		c := &r.chunks[i]
		g := s.open[c.stream]
		if g == nil {
			v := s.p.topo.vpcs[c.stream]
			end := time.Unix(s.p.t0+int64(u.window+1)*windowSeconds, 0)
			hr := seeded(s.p.seed, hashString("s3hash"), uint64(c.stream), uint64(u.window))
			key := S3Key(v.account, v.region, v.flowLog, end, string(hr.hex(nil, 8)))
			var w *bufio.Writer
			if n := len(s.spare); n > 0 {
				w, s.spare = s.spare[n-1], s.spare[:n-1]
			}
			if s.header == nil {
				s.header = []byte(s.p.format.Header() + "\n")
			}
			var err error
			g, err = createGzip(filepath.Join(s.root, filepath.FromSlash(key)), s.header, w)
			if err != nil {
				return err
			}
			s.open[c.stream] = g
		}
		if err := g.write(c); err != nil {
			return fmt.Errorf("write %s: %w", g.f.Name(), err)
		}
	}
	if u.part == u.parts-1 {
		return s.closeAll()
	}
	return nil
}

func (s *s3Sink) closeAll() error {
	var first error
	for i, g := range s.open {
		if g == nil {
			continue
		}
		if err := g.close(); err != nil && first == nil {
			first = err
		}
		s.files++
		s.bytes += g.n
		s.open[i] = nil
		s.spare = append(s.spare, g.w)
	}
	return first
}

func (s *s3Sink) end(bool) (int, int64, error) {
	err := s.closeAll()
	return s.files, s.bytes, err
}

// flatSink writes one file.
type flatSink struct {
	p    *plan
	path string
	gz   bool
	g    *gzipFile
	f    *os.File
	w    *bufio.Writer
	n    int64
}

func (s *flatSink) compressed() bool { return s.gz }

func (s *flatSink) begin() error {
	header := []byte(s.p.format.Header() + "\n")
	if s.gz {
		g, err := createGzip(s.path, header, nil)
		s.g = g
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o755); err != nil {
		return fmt.Errorf("create folder for %s: %w", s.path, err)
	}
	f, err := os.Create(s.path)
	if err != nil {
		return fmt.Errorf("create %s: %w", s.path, err)
	}
	s.f, s.w = f, bufio.NewWriterSize(f, 1<<20)
	n, _ := s.w.Write(header)
	s.n += int64(n)
	return nil
}

func (s *flatSink) write(_ *unit, r *result) error {
	for i := range r.chunks {
		c := &r.chunks[i]
		if s.g != nil {
			if err := s.g.write(c); err != nil {
				return fmt.Errorf("write %s: %w", s.path, err)
			}
			continue
		}
		n, err := s.w.Write(c.raw)
		s.n += int64(n)
		if err != nil {
			return fmt.Errorf("write %s: %w", s.path, err)
		}
	}
	return nil
}

func (s *flatSink) end(bool) (int, int64, error) {
	if s.g != nil {
		err := s.g.close()
		return 1, s.g.n, err
	}
	if err := s.w.Flush(); err != nil {
		s.f.Close()
		return 1, s.n, fmt.Errorf("write %s: %w", s.path, err)
	}
	if err := s.f.Close(); err != nil {
		return 1, s.n, fmt.Errorf("close %s: %w", s.path, err)
	}
	return 1, s.n, nil
}

// cloudWatchSink writes one filter-log-events JSON document per log stream.
type cloudWatchSink struct {
	p     *plan
	root  string
	files []*cwFile
}

type cwFile struct {
	f      *os.File
	w      *bufio.Writer
	events int
	n      int64
}

func (s *cloudWatchSink) begin() error     { return os.MkdirAll(s.root, 0o755) }
func (s *cloudWatchSink) compressed() bool { return false }

func (s *cloudWatchSink) write(_ *unit, r *result) error {
	for i := range r.chunks {
		c := &r.chunks[i]
		cf := s.files[c.stream]
		if cf == nil {
			h := s.p.topo.hosts[c.stream]
			path := filepath.Join(s.root, h.stream+".json")
			f, err := os.Create(path)
			if err != nil {
				return fmt.Errorf("create %s: %w", path, err)
			}
			cf = &cwFile{f: f, w: bufio.NewWriterSize(f, 32<<10)}
			s.files[c.stream] = cf
			n, _ := cf.w.WriteString("{\n    \"events\": [\n")
			cf.n += int64(n)
		}
		if cf.events > 0 {
			n, _ := cf.w.WriteString(",\n")
			cf.n += int64(n)
		}
		n, err := cf.w.Write(c.raw)
		cf.n += int64(n)
		if err != nil {
			return fmt.Errorf("write %s: %w", cf.f.Name(), err)
		}
		cf.events++
	}
	return nil
}

func (s *cloudWatchSink) end(bool) (int, int64, error) {
	var first error
	files, total := 0, int64(0)
	for i, cf := range s.files {
		if cf == nil {
			continue
		}
		h := s.p.topo.hosts[i]
		n, _ := fmt.Fprintf(cf.w, "\n    ],\n    \"searchedLogStreams\": [\n        {\n            \"logStreamName\": \"%s\",\n            \"searchedCompletely\": true\n        }\n    ]\n}\n", h.stream)
		cf.n += int64(n)
		if err := cf.w.Flush(); err != nil && first == nil {
			first = fmt.Errorf("write %s: %w", cf.f.Name(), err)
		}
		if err := cf.f.Close(); err != nil && first == nil {
			first = fmt.Errorf("close %s: %w", cf.f.Name(), err)
		}
		files++
		total += cf.n
	}
	return files, total, first
}
