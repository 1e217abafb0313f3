package server

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/engine"
)

// chromiumPath finds Debian's Chromium (scripts/services/chromium.sh
// installs it); $FLOWLENS_CHROMIUM overrides.
func chromiumPath() string {
	if p := os.Getenv("FLOWLENS_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// newBrowser starts headless Chromium with the flags this closed network
// needs (no background connections, no component updates, no QUIC) and a
// fresh profile, and returns a tab's context.
func newBrowser(t *testing.T) (context.Context, context.CancelFunc) {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		t.Skip("chromium is not installed: run scripts/services/chromium.sh (apt-get install chromium) for the console's browser tests")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	// The first Run starts the browser; it must not carry the test's deadline.
	if err := chromedp.Do(ctx); err != nil {
		cancelTab()
		cancelAlloc()
		t.Fatalf("start chromium %s: %v", path, err)
	}
	return ctx, func() { cancelTab(); cancelAlloc() }
}

// step runs actions with a time limit, naming the step when it fails.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitJS waits until a JavaScript expression is true.
func waitJS(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(10*time.Second))
}

// typeQuery replaces the editor's text and runs it with Ctrl+Enter, as a
// person does.
func typeQuery(t *testing.T, ctx context.Context, lang, query string) {
	t.Helper()
	step(t, ctx, "type and run "+query,
		chromedp.Click("#lang-"+lang),
		chromedp.SetValue("#query", query),
		chromedp.Focus("#query"),
		chromedp.KeyEvent("\r", chromedp.KeyModifiers(chromedp.ModifierCtrl)),
		waitJS(`!document.getElementById("run").disabled && (document.querySelector("#results tbody") !== null || !document.getElementById("query-error").hidden)`),
	)
}

// screenshot saves a PNG of the page to $FLOWLENS_SCREENSHOTS/NAME.png when
// that folder is set, for a person to look at the console.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("FLOWLENS_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
	}
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
	}
}

// cellText is what the console shows for a value of the API's JSON.
func cellText(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case int64:
		return strconv.FormatInt(x, 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// TestConsoleInBrowser drives the console in headless Chromium against a
// loopback server: an Insights query's rows in the table, a time series
// drawn as SVG, an error with its position marked in the editor, and an
// alert acknowledged from the alerts page.
func TestConsoleInBrowser(t *testing.T) {
	began := time.Now()
	s := newTestServer(t, nil)
	_, eng := testLake(t)
	ts := httptest.NewServer(s)
	defer ts.Close()
	ctx, stop := newBrowser(t)
	defer stop()
	t.Logf("chromium started in %s", time.Since(began).Round(time.Millisecond))

	step(t, ctx, "load the console",
		chromedp.Navigate(ts.URL+"/#/query"),
		waitJS(`document.body.dataset.ready === "true"`),
	)

	// An Insights query: the table holds the engine's rows, as text.
	typeQuery(t, ctx, "insights", guideTopTalkers)
	sql, err := compileInsights(guideTopTalkers, "duckdb")
	if err != nil {
		t.Fatal(err)
	}
	res, err := eng.Query(context.Background(), engine.Request{SQL: sql})
	if err != nil {
		t.Fatal(err)
	}
	wantRows := [][]string{res.Names()}
	for _, row := range res.Rows {
		var r []string
		for _, v := range row {
			r = append(r, cellText(v))
		}
		wantRows = append(wantRows, r)
	}
	if len(wantRows) != 21 {
		t.Fatalf("the engine returned %d rows for the guide query, want 20", len(wantRows)-1)
	}
	got := eval[[][]string](t, ctx, `[...document.querySelectorAll("#results tr")].map(tr => [...tr.cells].map(c => c.textContent))`)
	if diff := cmp.Diff(wantRows, got); diff != "" {
		t.Errorf("results table (-engine +browser):\n%s", diff)
	}
	if s := eval[string](t, ctx, `document.getElementById("result-summary").textContent`); !strings.HasPrefix(s, "20 rows in ") {
		t.Errorf("summary %q", s)
	}

	// A bin() series is drawn as one line of one point per bin.
	typeQuery(t, ctx, "insights", `stats count(*) as flows by bin(1h)`)
	rows := eval[int](t, ctx, `document.querySelectorAll("#results tbody tr").length`)
	points := eval[int](t, ctx, `(document.querySelector("#time-chart polyline")?.getAttribute("points") || "").trim().split(/\s+/).filter(Boolean).length`)
	if rows < 10 || points != rows {
		t.Errorf("chart: %d points for %d rows", points, rows)
	}
	screenshot(t, ctx, "query-chart")

	// An error: the message says where, and the editor marks the word.
	typeQuery(t, ctx, "insights", "filter srcaddr = \"名前\"\n| stats count(*) by srcaddr\n| sortt n")
	mark := eval[string](t, ctx, `document.getElementById("error-mark")?.textContent ?? "no mark"`)
	msg := eval[string](t, ctx, `document.getElementById("error-message").textContent`)
	ctxMark := eval[string](t, ctx, `document.getElementById("error-context-mark")?.textContent ?? "no mark"`)
	if mark != "sortt" || ctxMark != "sortt" || !strings.Contains(msg, "400 line 3, column 3: unknown command \"sortt\"") {
		t.Errorf("error: editor mark %q, context mark %q, message %q", mark, ctxMark, msg)
	}
	screenshot(t, ctx, "query-error")
	sel := eval[[]int](t, ctx, `[document.getElementById("query").selectionStart, document.getElementById("query").selectionEnd]`)
	if text := eval[string](t, ctx, `document.getElementById("query").value.slice(...[document.getElementById("query").selectionStart, document.getElementById("query").selectionEnd])`); text != "sortt" {
		t.Errorf("the editor selects %v = %q, want sortt", sel, text)
	}

	// A SQL error is marked too.
	typeQuery(t, ctx, "sql", "SELECT srcaddr, count(*) FROM flows GROUP BY srcadr")
	if mark := eval[string](t, ctx, `document.getElementById("error-mark")?.textContent ?? "no mark"`); mark != "srcadr" {
		t.Errorf("SQL error mark %q, want srcadr", mark)
	}

	// Ctrl+Space offers what the Insights parser expects; a click inserts it.
	step(t, ctx, "complete a command",
		chromedp.Click("#lang-insights"),
		chromedp.SetValue("#query", `filter action = "REJECT" | sta`),
		chromedp.Focus("#query"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("query").setSelectionRange(30, 30)`),
		chromedp.KeyEvent(" ", chromedp.KeyModifiers(chromedp.ModifierCtrl)),
		waitJS(`document.querySelectorAll("#completions li").length > 0`),
	)
	if first := eval[string](t, ctx, `document.querySelector("#completions li b").textContent`); first != "stats" {
		t.Errorf("first completion %q, want stats", first)
	}
	step(t, ctx, "accept the completion", chromedp.Click("#completions li"), waitJS(`document.getElementById("completions").hidden`))
	if v := eval[string](t, ctx, `document.getElementById("query").value`); v != `filter action = "REJECT" | stats ` {
		t.Errorf("after completion the editor holds %q", v)
	}

	// Alerts: three open; acknowledging one leaves two and records it.
	step(t, ctx, "open the alerts page",
		chromedp.Navigate(ts.URL+"/#/alerts"),
		waitJS(`document.querySelectorAll("#alerts-table tbody tr").length === 3`),
	)
	id := eval[string](t, ctx, `document.querySelector("#alerts-table tbody tr").dataset.id`)
	step(t, ctx, "acknowledge "+id,
		chromedp.SetValue("#alert-note", "seen in the browser test"),
		chromedp.Click(`#alerts-table tbody tr:first-child button.ack`),
		waitJS(`document.querySelectorAll("#alerts-table tbody tr").length === 2`),
	)
	screenshot(t, ctx, "alerts")
	a, err := s.o.Alerts.Get(id)
	if err != nil || a.Status != "acked" || a.AckedBy != "console" || a.Note != "seen in the browser test" {
		t.Errorf("after the click the store holds %+v, %v", a, err)
	}

	// Status: the records-per-day chart has the lake's one day.
	step(t, ctx, "open the status page",
		chromedp.Navigate(ts.URL+"/#/status"),
		waitJS(`document.querySelectorAll("#days-svg rect").length === 1`),
	)
	n := strconv.Itoa(fixtureRecordsStored(t))
	want := n[:len(n)-3] + "," + n[len(n)-3:] // en-US grouping of a five-digit count
	if rec := eval[string](t, ctx, `document.getElementById("status-records").textContent`); rec != want {
		t.Errorf("records %q, want %q", rec, want)
	}
	t.Logf("browser test took %s", time.Since(began).Round(time.Millisecond))
}

// TestConsoleToken checks the console's token flow: a server with a token
// asks for it, and queries work once it is entered.
func TestConsoleToken(t *testing.T) {
	s := newTestServer(t, func(o *Options) { o.Token = "browser-token" })
	ts := httptest.NewServer(s)
	defer ts.Close()
	ctx, stop := newBrowser(t)
	defer stop()
	step(t, ctx, "load the console",
		chromedp.Navigate(ts.URL+"/#/query"),
		waitJS(`document.body.dataset.ready === "true" && !document.getElementById("page-token").hidden`),
		chromedp.SetValue("#token-input", "wrong"),
		chromedp.Click("#token-save"),
		waitJS(`!document.getElementById("page-query").hidden`),
	)
	typeQuery(t, ctx, "sql", "SELECT count(*) AS n FROM flows")
	if page := eval[bool](t, ctx, `!document.getElementById("page-token").hidden && document.getElementById("token-error").textContent.includes("refused")`); !page {
		t.Fatal("a wrong token did not bring back the token page with the server's refusal")
	}
	step(t, ctx, "enter the token",
		chromedp.SetValue("#token-input", "browser-token"),
		chromedp.Click("#token-save"),
		waitJS(`!document.getElementById("page-query").hidden`),
	)
	typeQuery(t, ctx, "sql", "SELECT count(*) AS n FROM flows")
	got := eval[[][]string](t, ctx, `[...document.querySelectorAll("#results tr")].map(tr => [...tr.cells].map(c => c.textContent))`)
	if want := [][]string{{"n"}, {strconv.Itoa(fixtureRecordsStored(t))}}; !cmp.Equal(want, got) {
		t.Errorf("table %v, want %v", got, want)
	}
	if stored := eval[string](t, ctx, `sessionStorage.getItem("flowlens.token")`); stored != "browser-token" {
		t.Errorf("session storage holds %q", stored)
	}
}

// fixtureRecordsStored counts the lake's records through the engine.
func fixtureRecordsStored(t *testing.T) int {
	_, eng := testLake(t)
	res, err := eng.Query(context.Background(), engine.Request{SQL: "SELECT count(*) FROM flows"})
	if err != nil {
		t.Fatal(err)
	}
	return int(res.Rows[0][0].(int64))
}
