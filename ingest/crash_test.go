package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flowlens/flowlens/ingest/ingesttest"
	"github.com/flowlens/flowlens/lake"
	"github.com/google/go-cmp/cmp"
)

var (
	buildOnce sync.Once
	binPath   string
	binErr    error
	binDir    string
)

// buildFlowlens builds the flowlens binary once per test process.
func buildFlowlens(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "flowlens-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "flowlens")
		cmd := exec.Command("go", "build", "-o", binPath, "../cmd/flowlens")
		cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("build flowlens: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// TestCrashSafety starts real `flowlens ingest` processes over a multi-file
// gzip input (with copies of some objects in another folder), SIGKILLs them
// at random moments, and checks after every kill that a reader sees only
// whole committed transactions (no record twice, none that the input lacks)
// and that the catalog and the partition folders agree. Then one ingest runs
// to completion and the lake must hold exactly the input's records, read back
// through DuckDB from the partition folders. Then originals and copies grow
// (alone, the same, differently) and the kills start again over that lake.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the flowlens binary and kills 30+ ingests")
	}
	bin := buildFlowlens(t)
	in := t.TempDir()
	truth, err := ingesttest.Write(in, ingesttest.Config{Seed: 7, Days: 3, ObjectsPerDay: 8, RecordsPerFile: 500, KeepKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	// The same objects downloaded a second time into another folder: they
	// add no record.
	var copies []string
	for _, i := range []int{0, 5, 10, 17} {
		b, err := os.ReadFile(truth.Files[i])
		if err != nil {
			t.Fatal(err)
		}
		c := filepath.Join(in, "copies", filepath.Base(truth.Files[i]))
		writeFile(t, c, b)
		copies = append(copies, c)
	}
	copyRecords := int64(len(copies)) * 500
	// Small transactions and files, so kills land in every phase: parsing,
	// writing, committing, publishing, recovering.
	args := func(data string) []string {
		return []string{"--data", data, "-o", "json", "ingest", "--txn-bytes", "40000", "--file-rows", "2000", in}
	}

	// How long a whole run takes, to spread the kills over it.
	t0 := time.Now()
	if out, err := exec.Command(bin, args(t.TempDir())...).CombinedOutput(); err != nil {
		t.Fatalf("calibration ingest: %v\n%s", err, out)
	}
	full := time.Since(t0)
	seed := uint64(time.Now().UnixNano())
	t.Logf("a whole ingest takes %v; kill seed %d", full, seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	// Episodes: kill ingests into one data folder until one finishes by
	// itself, check that the lake is then complete, start a new folder.
	data := t.TempDir()
	kills, runs, episodes := 0, 0, 0
	for kills < 24 {
		runs++
		if runs > 400 {
			t.Fatalf("only %d of %d runs were killed before finishing", kills, runs)
		}
		cmd := exec.Command(bin, args(data)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		began := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Int64N(int64(full))))
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			kills++
			checkConsistent(t, data, truth, fmt.Sprintf("after kill %d (run %d)", kills, runs))
			continue
		}
		if err != nil {
			t.Fatalf("run %d failed by itself: %v\n%s", runs, err, stderr.String())
		}
		// The machine may have got faster since the calibration: aim the
		// kills at the runs' real length.
		full = max(time.Since(began), full/2)
		checkConsistent(t, data, truth, fmt.Sprintf("after run %d", runs))
		if diff := cmp.Diff(truth.Keys, lakeKeys(t, data)); diff != "" {
			t.Fatalf("episode %d: a finished ingest after kills left the lake different from the input (-input +lake):\n%s", episodes+1, diff)
		}
		episodes++
		data = t.TempDir()
	}

	// Run to completion.
	out, err := exec.Command(bin, args(data)...).Output()
	if err != nil {
		t.Fatalf("final ingest: %v", err)
	}
	var c Counts
	if err := json.Unmarshal(out, &c); err != nil {
		t.Fatalf("final ingest printed %q: %v", out, err)
	}
	if c.RecordsRead != truth.Records+copyRecords || c.RecordsQuarantined != 0 || c.Sources+c.SourcesSkipped != len(truth.Files)+len(copies) {
		t.Errorf("final ingest counts %+v: want %d records read from %d sources", c, truth.Records+copyRecords, len(truth.Files)+len(copies))
	}
	if diff := cmp.Diff(truth.Keys, lakeKeys(t, data)); diff != "" {
		t.Errorf("after %d kills the lake differs from the input (-input +lake):\n%s", kills, diff)
	}
	sums := duckRows(t, data, `SELECT count(*)::VARCHAR, sum(bytes)::VARCHAR, sum(packets)::VARCHAR, sum(start)::VARCHAR FROM %s`)[0]
	want := []string{fmt.Sprint(truth.Records), fmt.Sprint(truth.Bytes), fmt.Sprint(truth.Packets), fmt.Sprint(truth.Start)}
	if diff := cmp.Diff(want, sums); diff != "" {
		t.Errorf("count and sums (-input +lake):\n%s", diff)
	}
	if out, err := exec.Command(bin, "--data", data, "lake", "verify").CombinedOutput(); err != nil {
		t.Errorf("lake verify: %v\n%s", err, out)
	}
	t.Logf("%d of %d runs killed, %d episodes completed; %d records in %d files", kills, runs, episodes, truth.Records, len(files(t, data)))

	// The objects grow (a gzip member appended, as a cut download completed
	// or a writer appending): a copy alone, an original alone, an original
	// and its copy by the same lines, and another pair by different lines.
	grown := &ingesttest.Truth{Keys: maps.Clone(truth.Keys)}
	member := func(n, port int) string {
		var b strings.Builder
		b.WriteString(ingesttest.DefaultHeader + "\n")
		for i := range n {
			src, sport, start, bytes := "198.51.100.7", int64(port+i), int64(1709251300+i), int64(40+i)
			fmt.Fprintf(&b, "2 123456789012 eni-0a1b %s 10.0.1.5 %d 443 6 1 %d %d %d ACCEPT OK\n", src, sport, bytes, start, start+60)
			grown.Keys[ingesttest.Key{Src: src, Dst: "10.0.1.5", SrcPort: sport, DstPort: 443, Start: start, Bytes: bytes}]++
		}
		return gzipMember(b.String())
	}
	appendTo(t, copies[0], member(400, 20000))
	appendTo(t, truth.Files[5], member(400, 21000))
	same := member(400, 22000)
	appendTo(t, truth.Files[10], same)
	appendTo(t, copies[2], same)
	appendTo(t, truth.Files[17], member(400, 23000))
	appendTo(t, copies[3], member(400, 24000))

	// How long the ingest of the growth takes, on a copy of the lake.
	calib := t.TempDir()
	if out, err := exec.Command("cp", "-a", data+"/.", calib).CombinedOutput(); err != nil {
		t.Fatalf("copy the lake: %v\n%s", err, out)
	}
	t0 = time.Now()
	if out, err := exec.Command(bin, args(calib)...).CombinedOutput(); err != nil {
		t.Fatalf("calibration ingest of the growth: %v\n%s", err, out)
	}
	full = time.Since(t0)
	growKills, growRuns := 0, 0
	for growKills < 8 && growRuns < 100 {
		growRuns++
		cmd := exec.Command(bin, args(data)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Int64N(int64(full))))
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			growKills++
			checkConsistent(t, data, grown, fmt.Sprintf("after growth kill %d (run %d)", growKills, growRuns))
			continue
		}
		if err != nil {
			t.Fatalf("growth run %d failed by itself: %v", growRuns, err)
		}
		checkConsistent(t, data, grown, fmt.Sprintf("after growth run %d", growRuns))
	}
	out, err = exec.Command(bin, args(data)...).Output()
	if err != nil {
		t.Fatalf("final ingest of the growth: %v", err)
	}
	if diff := cmp.Diff(grown.Keys, lakeKeys(t, data)); diff != "" {
		t.Errorf("after the growth and %d kills the lake differs from the input (-input +lake):\n%s", growKills, diff)
	}
	if rows, distinct := lakeRows(t, data); rows != truth.Records+2000 || distinct != rows {
		t.Errorf("after the growth: count(*) %d, count(DISTINCT *) %d, want %d", rows, distinct, truth.Records+2000)
	}
	if out, err := exec.Command(bin, "--data", data, "lake", "verify").CombinedOutput(); err != nil {
		t.Errorf("lake verify after the growth: %v\n%s", err, out)
	}
	t.Logf("growth: %d of %d runs killed", growKills, growRuns)
}

// checkConsistent checks what a reader sees after a kill: the lake's reader
// lock finishes or rolls back the dead process's transaction, after which
// the catalog and the folders agree and the records are a sub-multiset of the
// input.
func checkConsistent(t *testing.T, data string, truth *ingesttest.Truth, when string) {
	t.Helper()
	release, err := lake.ReadLock(data)
	if err != nil {
		t.Fatalf("%s: read lock: %v", when, err)
	}
	got := lakeKeys(t, data)
	release()
	for k, n := range got {
		if n > truth.Keys[k] {
			t.Fatalf("%s: record %+v stored %d times, the input has it %d times", when, k, n, truth.Keys[k])
		}
	}
	l, err := lake.Open(context.Background(), data, lake.OpenOptions{NoRecover: true})
	if err != nil {
		t.Fatalf("%s: %v", when, err)
	}
	defer l.Close()
	rep, err := l.Verify(false)
	if err != nil || len(rep.Problems) != 0 {
		t.Fatalf("%s: verify: %v %+v", when, err, rep.Problems)
	}
	var stored int64
	for _, n := range got {
		stored += n
	}
	if stored != rep.Records {
		t.Fatalf("%s: readers see %d records, the catalog has %d", when, stored, rep.Records)
	}
}

// files lists the data files of a lake.
func files(t *testing.T, data string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(lake.TableDir(data), "*", "*", "*", "*.parquet"))
	return m
}
