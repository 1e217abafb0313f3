package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
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
// gzip input, SIGKILLs them at random moments, and checks after every kill
// that a reader sees only whole committed transactions (no record twice, none
// that the input lacks) and that the catalog and the partition folders agree.
// Then one ingest runs to completion and the lake must hold exactly the
// input's records, read back through DuckDB from the partition folders.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the flowlens binary and kills 20+ ingests")
	}
	bin := buildFlowlens(t)
	in := t.TempDir()
	truth, err := ingesttest.Write(in, ingesttest.Config{Seed: 7, Days: 3, ObjectsPerDay: 8, RecordsPerFile: 500, KeepKeys: true})
	if err != nil {
		t.Fatal(err)
	}
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
	if c.RecordsRead != truth.Records || c.RecordsQuarantined != 0 || c.Sources+c.SourcesSkipped != len(truth.Files) {
		t.Errorf("final ingest counts %+v: want %d records read from %d sources", c, truth.Records, len(truth.Files))
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
