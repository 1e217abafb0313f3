package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxBackoff caps the delay between two attempts, Retry-After included.
const maxBackoff = 5 * time.Minute

// poster POSTs JSON with a per-attempt timeout, retrying network errors, 429
// and 5xx answers with exponential backoff and jitter, honouring Retry-After.
// Other 4xx answers are final: sending the same request again cannot help.
type poster struct {
	client  *http.Client
	url     string
	headers map[string]string
	timeout time.Duration
	retries int
	backoff time.Duration
	// sleep waits d or until ctx ends; tests may observe it.
	sleep func(ctx context.Context, d time.Duration) error
}

func newPoster(c *SinkConfig, client *http.Client) *poster {
	if client == nil {
		client = &http.Client{}
	}
	if client.CheckRedirect == nil {
		cc := *client
		cc.CheckRedirect = keepPost
		client = &cc
	}
	return &poster{client: client, url: c.URL, headers: c.Headers, timeout: c.timeout(),
		retries: c.retries(), backoff: c.backoff(), sleep: sleepCtx}
}

// keepPost follows only redirects that repeat the POST with its body (307,
// 308). Go turns the POST into a GET without a body on 301, 302 and 303: the
// alert would be lost while the final 200 reads as delivered, so those
// answers are returned as they are, and fail.
func keepPost(req *http.Request, via []*http.Request) error {
	if req.Method != http.MethodPost {
		return http.ErrUseLastResponse
	}
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// delay is the wait before retry number attempt (0-based): backoff·2^attempt,
// of which a random half is dropped ("equal jitter"), capped at maxBackoff.
func (p *poster) delay(attempt int) time.Duration {
	d := p.backoff << min(attempt, 20)
	if d <= 0 || d > maxBackoff {
		d = maxBackoff
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// httpStatusError is a non-2xx answer.
type httpStatusError struct {
	url      string
	status   int
	body     string
	location string // a redirect's target, redacted
}

func (e *httpStatusError) Error() string {
	s := fmt.Sprintf("POST %s: HTTP %d", e.url, e.status)
	if e.location != "" {
		s += " (a redirect to " + e.location + ": configure the URL it points to)"
	}
	if e.body != "" {
		s += ": " + e.body
	}
	return s
}

// post sends body and returns nil on a 2xx answer.
func (p *poster) post(ctx context.Context, body []byte, extra map[string]string) error {
	var last error
	for attempt := 0; ; attempt++ {
		retryAfter, retryable, err := p.attempt(ctx, body, extra)
		if err == nil {
			return nil
		}
		last = err
		if ctx.Err() != nil {
			return fmt.Errorf("%w (gave up: %v)", last, ctx.Err())
		}
		if !retryable {
			return permanentError{last}
		}
		if attempt >= p.retries {
			if p.retries > 0 {
				return fmt.Errorf("%w (after %d attempts)", last, attempt+1)
			}
			return last
		}
		wait := p.delay(attempt)
		if retryAfter > 0 {
			wait = min(retryAfter, maxBackoff)
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return fmt.Errorf("%w (next retry in %s is past the deadline)", last, wait.Round(time.Millisecond))
		}
		if err := p.sleep(ctx, wait); err != nil {
			return fmt.Errorf("%w (gave up: %v)", last, err)
		}
	}
}

// attempt makes one request. It reports the server's Retry-After and
// whether the failure is worth retrying.
func (p *poster) attempt(ctx context.Context, body []byte, extra map[string]string) (time.Duration, bool, error) {
	actx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return 0, false, redactErr(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "flowlens")
	for k, v := range p.headers {
		req.Header.Set(k, v)
	}
	for k, v := range extra {
		req.Header.Set(k, v)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		err = redactErr(err)
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("%w (timeout %s)", err, p.timeout)
		}
		return 0, true, err
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return 0, false, nil
	}
	se := &httpStatusError{url: redactURL(p.url), status: resp.StatusCode, body: strings.TrimSpace(string(snippet))}
	if loc, err := resp.Location(); err == nil && resp.StatusCode >= 300 && resp.StatusCode < 400 {
		se.location = redactURL(loc.String())
	}
	retryable := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
	ra, _ := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	return ra, retryable, se
}

// webhookSink POSTs each alert as its JSON object, or with batch one
// {"alerts":[…]} per dispatch.
type webhookSink struct {
	name  string
	post  *poster
	batch bool
}

func (s *webhookSink) Name() string { return s.name }

func (s *webhookSink) Send(ctx context.Context, alerts []Alert) error {
	if s.batch {
		body, err := json.Marshal(struct {
			Alerts []Alert `json:"alerts"`
		}{alerts})
		if err != nil {
			return fmt.Errorf("encode alerts: %w", err)
		}
		return s.post.post(ctx, body, nil)
	}
	return sendEach(ctx, alerts, func(a *Alert) error {
		body, err := json.Marshal(a)
		if err != nil {
			return permanentError{fmt.Errorf("encode: %w", err)}
		}
		return s.post.post(ctx, body, map[string]string{"X-Flowlens-Alert-Id": a.ID})
	})
}
