package main

// The s3:// sources of `flowlens ingest`: list, download to a staging folder
// in DATA, ingest the downloads under their s3:// names, mark them done.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/ingest"
	"github.com/flowlens/flowlens/lake"
	"github.com/flowlens/flowlens/source"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

// s3Flags are the ingest flags of s3:// sources.
type s3Flags struct {
	endpoint, region, profile string
	pathStyle                 bool
	downloads                 int
	since, from, to           string
}

func (f *s3Flags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.endpoint, "s3-endpoint", "", "URL of an S3-compatible service, such as http://127.0.0.1:8333 (default: the config's s3.endpoint, else AWS_ENDPOINT_URL_S3, else AWS)")
	fl.StringVar(&f.region, "s3-region", "", "region of the bucket (default: the config's s3.region, else AWS_REGION or the profile's)")
	fl.StringVar(&f.profile, "s3-profile", "", "AWS shared-config profile for credentials and region (default: the config's s3.profile, else AWS_PROFILE)")
	fl.BoolVar(&f.pathStyle, "s3-path-style", false, "address buckets as ENDPOINT/bucket/key, as most S3-compatible services need (default: the config's s3.path-style)")
	fl.IntVar(&f.downloads, "s3-downloads", 16, "objects downloaded at once")
	fl.StringVar(&f.since, "since", "", "s3:// sources: only objects whose key dates them within this long before now: 90m, 24h, 7d, 2w")
	fl.StringVar(&f.from, "from", "", "s3:// sources: only objects whose key dates them at or after this time (RFC 3339, a UTC day such as 2024-03-01, or Unix seconds)")
	fl.StringVar(&f.to, "to", "", "s3:// sources: only objects whose key dates them before this time (and up to an hour after, for late flows)")
}

// used reports whether any flag that only s3:// sources take was given.
func (f *s3Flags) used(cmd *cobra.Command) string {
	for _, n := range []string{"s3-endpoint", "s3-region", "s3-profile", "s3-path-style", "s3-downloads", "since", "from", "to"} {
		if cmd.Flags().Changed(n) {
			return n
		}
	}
	return ""
}

// timeRange reads --since, --from and --to as the query command does.
func (f *s3Flags) timeRange(now time.Time) (source.TimeRange, error) {
	r, err := timeRange(&queryFlags{since: f.since, from: f.from, to: f.to}, now)
	return source.TimeRange(r), err
}

// s3Stats are the S3 side of an ingest, printed with its counts.
type s3Stats struct {
	ObjectsListed     int64   `json:"objects_listed"`
	ObjectsSkipped    int64   `json:"objects_skipped"`
	ObjectsDownloaded int64   `json:"objects_downloaded"`
	ObjectsFailed     int64   `json:"objects_failed"`
	BytesDownloaded   int64   `json:"bytes_downloaded"`
	ListCalls         int64   `json:"list_calls"`
	Pruned            int64   `json:"objects_pruned"`
	DownloadSeconds   float64 `json:"download_seconds"`
}

// s3IngestJSON is what -o json prints for an ingest with s3:// sources.
type s3IngestJSON struct {
	ingest.Counts
	s3Stats
}

// splitS3 separates s3:// arguments from local ones.
func splitS3(args []string) (local, remote []string) {
	for _, a := range args {
		if source.IsS3(a) {
			remote = append(remote, a)
		} else {
			local = append(local, a)
		}
	}
	return local, remote
}

// formatKey names the format headerless lines are read with, as the
// manifest records it (the catalog's own words for it).
func formatKey(o ingest.Options) string {
	switch {
	case o.Guess:
		return "auto"
	case o.Format != nil:
		return o.Format.String()
	}
	return flowlog.Default().String()
}

// s3Job is one object to fetch and ingest.
type s3Job struct {
	obj   source.S3Object
	local string
	err   error
}

// ingestS3 ingests local files and the objects under the s3:// locations
// remote into data folder dir: objects are listed, those done before are
// skipped, the others downloaded in batches of about o.TxnBytes (the next
// batch downloads while one is ingested), each batch ingested under the
// objects' s3:// names and then marked done in the bucket's manifest.
func ingestS3(ctx context.Context, dir string, local, remote []string, o ingest.Options, f *s3Flags, bar *ingestBar) (*ingest.Result, *s3Stats, error) {
	st := &s3Stats{}
	var locs []source.S3Location
	for _, a := range remote {
		l, err := source.ParseS3Location(a)
		if err != nil {
			return nil, st, usageErrorf("%v", err)
		}
		locs = append(locs, l)
	}
	r, err := f.timeRange(time.Now())
	if err != nil {
		return nil, st, err
	}
	so := source.S3Options{
		Region:    cmpOr(f.region, g.cfg.S3.Region),
		Endpoint:  cmpOr(f.endpoint, g.cfg.S3.Endpoint),
		Profile:   cmpOr(f.profile, g.cfg.S3.Profile),
		PathStyle: f.pathStyle || g.cfg.S3.PathStyle,
	}
	client, err := source.NewS3(ctx, so)
	if err != nil {
		return nil, st, err
	}
	if err := client.CheckCredentials(ctx); err != nil {
		return nil, st, err
	}

	// List, leaving out the objects done before: those the manifest says
	// are done and the lake's catalog holds (the catalog is the truth: a
	// lake deleted and started again is filled again).
	cat, err := lake.ReadCatalog(dir)
	if err != nil {
		return nil, st, err
	}
	res := &ingest.Result{}
	format := formatKey(o)
	manifests := map[string]*source.S3Manifest{}
	defer func() {
		for _, m := range manifests {
			m.Close()
		}
	}()
	var todo []source.S3Object
	seen := map[string]bool{}
	var total int64
	for _, l := range locs {
		m := manifests[l.Bucket]
		if m == nil {
			if m, err = source.OpenS3Manifest(dir, l.Bucket); err != nil {
				return nil, st, err
			}
			manifests[l.Bucket] = m
		}
		ls, err := client.List(ctx, l, r, func(obj source.S3Object) error {
			st.ObjectsListed++
			switch {
			case seen[obj.URI()]:
			case m.Done(obj, format):
				if prev, ok := cat.SourceByPath(obj.URI()); ok && prev.Size == obj.Size {
					st.ObjectsSkipped++
					res.SourcesSkipped++
					res.RecordsSkipped += prev.Records
					res.RecordsRead += prev.Records
					res.Skipped = append(res.Skipped, ingest.SourceNote{Path: obj.URI(), Reason: "already ingested"})
					break
				}
				todo = append(todo, obj)
				total += obj.Size
			default:
				todo = append(todo, obj)
				total += obj.Size
			}
			seen[obj.URI()] = true
			return nil
		})
		st.ListCalls += ls.Calls
		st.Pruned += ls.Pruned
		if err != nil {
			return nil, st, err
		}
		if st.ObjectsListed == 0 && ls.Pruned == 0 {
			noticef("note: %s holds no objects", l)
		}
	}

	// Download in batches into a staging folder of this run.
	stageRoot := filepath.Join(dir, source.ManifestDir, "staging")
	cleanStaging(stageRoot)
	if err := os.MkdirAll(stageRoot, 0o755); err != nil {
		return nil, st, fmt.Errorf("create %s: %w", stageRoot, err)
	}
	stage, err := os.MkdirTemp(stageRoot, fmt.Sprintf("run-%d-", os.Getpid()))
	if err != nil {
		return nil, st, fmt.Errorf("create staging folder: %w", err)
	}
	defer os.RemoveAll(stage)

	var prog *s3Progress
	if bar != nil {
		prog = newS3Progress(len(todo), total)
		defer prog.finish()
		o.Progress = prog
	}
	batchBytes := o.TxnBytes
	if batchBytes <= 0 {
		batchBytes = 1 << 30
	}
	const batchObjects = 5000
	var batches [][]source.S3Object
	for i := 0; i < len(todo); {
		n, size := 0, int64(0)
		for i+n < len(todo) && n < batchObjects && (n == 0 || size+todo[i+n].Size <= batchBytes) {
			size += todo[i+n].Size
			n++
		}
		batches = append(batches, todo[i:i+n])
		i += n
	}
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Unbuffered: one batch downloads while another is ingested, so at
	// most two are on disk.
	downloaded := make(chan []s3Job)
	began := time.Now()
	var dlBusy atomic.Int64 // nanoseconds spent downloading
	go func() {
		defer close(downloaded)
		for _, b := range batches {
			t0 := time.Now()
			jobs := downloadBatch(dctx, client, b, stage, f.downloads, prog, st)
			dlBusy.Add(int64(time.Since(t0)))
			select {
			case downloaded <- jobs:
			case <-dctx.Done():
				return
			}
		}
	}()

	first := true
	retain := o.Retain
	o.Retain = 0
	for jobs := range downloaded {
		names := map[string]string{}
		files := []string{}
		if first {
			files = append(files, local...)
		}
		for _, j := range jobs {
			if j.err != nil {
				if ctx.Err() == nil {
					res.Failed = append(res.Failed, ingest.SourceNote{Path: j.obj.URI(), Reason: j.err.Error()})
				}
				continue
			}
			names[j.local] = j.obj.URI()
			files = append(files, j.local)
		}
		if len(files) == 0 {
			continue
		}
		o.Names = names
		r, err := ingest.Run(ctx, dir, files, o)
		mergeResult(res, r, first)
		first = false
		for _, j := range jobs {
			if j.local != "" {
				os.Remove(j.local)
			}
		}
		if err != nil {
			cancel()
			return res, st, err
		}
		// Mark done what the lake now holds or refused for good: not
		// objects that failed (tried again next time) or were refused as
		// changed (refused again, and said so, next time).
		undone := map[string]bool{}
		for _, n := range r.Failed {
			undone[n.Path] = true
		}
		for _, n := range r.Changed {
			undone[n.Path] = true
		}
		byBucket := map[string][]source.S3ManifestEntry{}
		now := time.Now().UTC()
		for _, j := range jobs {
			if j.err != nil || undone[j.obj.URI()] {
				continue
			}
			byBucket[j.obj.Bucket] = append(byBucket[j.obj.Bucket], source.S3ManifestEntry{Key: j.obj.Key, ETag: j.obj.ETag, Size: j.obj.Size, Done: now, Format: format})
		}
		for b, es := range byBucket {
			if err := manifests[b].Mark(es); err != nil {
				cancel()
				return res, st, err
			}
		}
	}
	st.DownloadSeconds = time.Duration(dlBusy.Load()).Seconds()
	if ctx.Err() != nil {
		return res, st, fmt.Errorf("ingest interrupted: %w", ctx.Err())
	}
	// The local sources, when no object was ingested with them, and
	// retention, once at the end.
	if first && len(local) > 0 || retain > 0 {
		var files []string
		if first {
			files = local
		}
		o.Names, o.Retain = nil, retain
		r, err := ingest.Run(ctx, dir, files, o)
		mergeResult(res, r, first)
		if err != nil {
			return res, st, err
		}
	}
	res.Seconds = time.Since(began).Seconds()
	return res, st, nil
}

// downloadBatch downloads the objects of one batch, n at a time.
func downloadBatch(ctx context.Context, c *source.S3, objs []source.S3Object, stage string, n int, prog *s3Progress, st *s3Stats) []s3Job {
	jobs := make([]s3Job, len(objs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(n, 1))
	for i, obj := range objs {
		jobs[i].obj = obj
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			jobs[i].err = ctx.Err()
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			path := filepath.Join(stage, source.StagingName(obj))
			var add func(int64)
			if prog != nil {
				add = prog.addBytes
			}
			moved, err := c.Download(ctx, obj, path, 4, add)
			atomic.AddInt64(&st.BytesDownloaded, moved)
			if err != nil {
				jobs[i].err = err
				atomic.AddInt64(&st.ObjectsFailed, 1)
				if prog != nil {
					prog.addBytes(obj.Size - moved) // the bar still ends full
				}
				return
			}
			jobs[i].local = path
			atomic.AddInt64(&st.ObjectsDownloaded, 1)
			if prog != nil {
				prog.addObject()
			}
		}()
	}
	wg.Wait()
	return jobs
}

// cleanStaging removes the staging folders of runs whose process is gone.
func cleanStaging(root string) {
	ents, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), "run-")
		if !ok {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 {
			continue
		}
		if pid == os.Getpid() {
			continue
		}
		if p, err := os.FindProcess(pid); err == nil && errors.Is(p.Signal(syscall.Signal(0)), os.ErrProcessDone) {
			os.RemoveAll(filepath.Join(root, e.Name()))
		}
	}
}

// mergeResult adds what one ingest.Run did to the whole run's result.
func mergeResult(all, r *ingest.Result, first bool) {
	if r == nil {
		return
	}
	c := &all.Counts
	c.RecordsRead += r.RecordsRead
	c.RecordsStored += r.RecordsStored
	c.RecordsQuarantined += r.RecordsQuarantined
	c.RecordsSkipped += r.RecordsSkipped
	c.Sources += r.Sources
	c.SourcesSkipped += r.SourcesSkipped
	c.BytesRead += r.BytesRead
	all.Skipped = append(all.Skipped, r.Skipped...)
	all.Changed = append(all.Changed, r.Changed...)
	all.Grown = append(all.Grown, r.Grown...)
	all.Reread = append(all.Reread, r.Reread...)
	all.Broken = append(all.Broken, r.Broken...)
	all.Failed = append(all.Failed, r.Failed...)
	for _, n := range r.Notes {
		if !slicesContains(all.Notes, n) {
			all.Notes = append(all.Notes, n)
		}
	}
	all.Files += r.Files
	all.Txns += r.Txns
	if first {
		all.Recovery = r.Recovery
	}
	if r.Retained != nil {
		all.Retained = r.Retained
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// printS3Summary prints the S3 side of an ingest.
func printS3Summary(st *s3Stats) {
	fmt.Fprintf(g.stdout, "s3: listed %d objects in %d requests", st.ObjectsListed, st.ListCalls)
	if st.Pruned > 0 {
		fmt.Fprintf(g.stdout, " (%d objects and folders left out by the time range)", st.Pruned)
	}
	fmt.Fprintf(g.stdout, "; skipped %d done before; downloaded %d (%s)", st.ObjectsSkipped, st.ObjectsDownloaded, humanBytes(st.BytesDownloaded))
	if st.ObjectsFailed > 0 {
		fmt.Fprintf(g.stdout, "; %d failed", st.ObjectsFailed)
	}
	fmt.Fprintln(g.stdout)
}

// s3Progress draws the objects and bytes downloaded, and the records read,
// on stderr.
type s3Progress struct {
	bar     *progressbar.ProgressBar
	objects int
	done    atomic.Int64
	records atomic.Int64
	last    atomic.Int64
	once    sync.Once
}

func newS3Progress(objects int, total int64) *s3Progress {
	p := &s3Progress{objects: objects}
	p.bar = progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(g.stderr),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionSetDescription(fmt.Sprintf("0/%d objects", objects)),
		progressbar.OptionClearOnFinish(),
	)
	return p
}

func (p *s3Progress) addBytes(n int64) { p.bar.Add64(n) }

func (p *s3Progress) addObject() {
	p.done.Add(1)
	p.describe()
}

func (p *s3Progress) describe() {
	now := time.Now().UnixNano()
	if last := p.last.Load(); now-last > int64(200*time.Millisecond) && p.last.CompareAndSwap(last, now) {
		p.bar.Describe(fmt.Sprintf("%d/%d objects, %d records", p.done.Load(), p.objects, p.records.Load()))
	}
}

// Start, Add and Finish make s3Progress the ingest's progress too: the bar
// counts downloaded bytes, the ingest adds its records.
func (p *s3Progress) Start(int64) {}

func (p *s3Progress) Add(_, records int64) {
	p.records.Add(records)
	p.describe()
}

func (p *s3Progress) Finish() {}

func (p *s3Progress) finish() { p.once.Do(func() { p.bar.Finish() }) }
