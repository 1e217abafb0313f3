package alert

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	testAccessKey = "AKIDFLOWLENSTEST"
	testSecretKey = "SECRETflowlensTESTkey/0123456789abcdefgh"
)

// published is one Publish call as the loopback SNS server decoded it.
type published struct {
	TopicArn, Message, Subject string
	GroupID, DedupID           string
	Attributes                 map[string][2]string // name → DataType, StringValue
}

// snsServer implements the SNS Publish query API on loopback and checks the
// AWS Signature Version 4 of each request with the test credentials.
type snsServer struct {
	*httptest.Server
	mu     sync.Mutex
	got    []published
	errs   []error
	failAs string // when set, answer every Publish with this error code
	// failServer makes that error the server's fault (500, Receiver).
	failServer bool
	calls      int
}

func newSNSServer(t *testing.T) *snsServer {
	s := &snsServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *snsServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, err := url.ParseQuery(string(body))
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		err = verifySigV4(r, body)
	}
	if err == nil && (form.Get("Action") != "Publish" || form.Get("Version") != "2010-03-31") {
		err = fmt.Errorf("Action=%q Version=%q", form.Get("Action"), form.Get("Version"))
	}
	if err != nil {
		s.errs = append(s.errs, err)
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>%s</Message></Error><RequestId>r</RequestId></ErrorResponse>`, err)
		return
	}
	s.calls++
	if s.failAs != "" {
		status, typ := http.StatusNotFound, "Sender"
		if s.failServer {
			status, typ = http.StatusInternalServerError, "Receiver"
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, `<ErrorResponse><Error><Type>%s</Type><Code>%s</Code><Message>Topic does not exist</Message></Error><RequestId>r</RequestId></ErrorResponse>`, typ, s.failAs)
		return
	}
	p := published{TopicArn: form.Get("TopicArn"), Message: form.Get("Message"), Subject: form.Get("Subject"),
		GroupID: form.Get("MessageGroupId"), DedupID: form.Get("MessageDeduplicationId"), Attributes: map[string][2]string{}}
	for i := 1; form.Has(fmt.Sprintf("MessageAttributes.entry.%d.Name", i)); i++ {
		pre := fmt.Sprintf("MessageAttributes.entry.%d.", i)
		p.Attributes[form.Get(pre+"Name")] = [2]string{form.Get(pre + "Value.DataType"), form.Get(pre + "Value.StringValue")}
	}
	s.got = append(s.got, p)
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-%d</MessageId></PublishResult><ResponseMetadata><RequestId>r-%d</RequestId></ResponseMetadata></PublishResponse>`, len(s.got), len(s.got))
}

// verifySigV4 recomputes the request's AWS Signature Version 4 from the
// headers it says it signed and compares it with the one it carries.
func verifySigV4(r *http.Request, body []byte) error {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return fmt.Errorf("authorization %q is not SigV4", auth)
	}
	parts := map[string]string{}
	for _, p := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		parts[k] = v
	}
	cred := strings.Split(parts["Credential"], "/")
	if len(cred) != 5 || cred[0] != testAccessKey || cred[2] != "us-east-1" || cred[3] != "sns" || cred[4] != "aws4_request" {
		return fmt.Errorf("credential scope %q", parts["Credential"])
	}
	amzDate := r.Header.Get("X-Amz-Date")
	if !strings.HasPrefix(amzDate, cred[1]) {
		return fmt.Errorf("X-Amz-Date %q outside the scope date %s", amzDate, cred[1])
	}
	signed := strings.Split(parts["SignedHeaders"], ";")
	if !sort.StringsAreSorted(signed) || !contains(signed, "host") || !contains(signed, "x-amz-date") {
		return fmt.Errorf("signed headers %v", signed)
	}
	var canon strings.Builder
	canon.WriteString(r.Method + "\n" + r.URL.EscapedPath() + "\n" + r.URL.RawQuery + "\n")
	for _, h := range signed {
		v := strings.Join(r.Header.Values(h), ",")
		switch h {
		case "host":
			v = r.Host
		case "content-length":
			v = strconv.FormatInt(r.ContentLength, 10)
		}
		canon.WriteString(h + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	payload := sha256.Sum256(body)
	canon.WriteString("\n" + parts["SignedHeaders"] + "\n" + hex.EncodeToString(payload[:]))
	creq := sha256.Sum256([]byte(canon.String()))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + strings.Join(cred[1:], "/") + "\n" + hex.EncodeToString(creq[:])
	key := []byte("AWS4" + testSecretKey)
	for _, s := range []string{cred[1], cred[2], cred[3], cred[4]} {
		key = hmacSHA256(key, s)
	}
	if want := hex.EncodeToString(hmacSHA256(key, toSign)); want != parts["Signature"] {
		return fmt.Errorf("signature %s, want %s", parts["Signature"], want)
	}
	return nil
}

func hmacSHA256(key []byte, s string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(s))
	return h.Sum(nil)
}

// isolateAWS gives the SDK the test credentials and nothing from the machine.
func isolateAWS(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", testAccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testSecretKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_SNS", "")
}

func TestSNSSink(t *testing.T) {
	isolateAWS(t)
	tests := []struct {
		name  string
		topic string
		fifo  bool
	}{
		{"standard topic", "arn:aws:sns:us-east-1:123456789012:flowlens-alerts", false},
		{"fifo topic", "arn:aws:sns:us-east-1:123456789012:flowlens-alerts.fifo", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newSNSServer(t)
			s, err := NewSink(context.Background(), SinkConfig{Type: SinkSNS, Topic: tt.topic, Endpoint: srv.URL}, Env{})
			if err != nil {
				t.Fatal(err)
			}
			as := testAlerts()
			as[1].Title = "Horizontal sweep → every host of 10.0.1.0/24 on port 22, which is a very long title that SNS would refuse"
			if err := s.Send(context.Background(), as); err != nil {
				t.Fatal(err)
			}
			if len(srv.errs) > 0 {
				t.Fatalf("server rejected requests: %v", srv.errs)
			}
			var want []published
			for _, a := range as {
				msg, _ := json.Marshal(a)
				p := published{TopicArn: tt.topic, Message: string(msg), Subject: SNSSubject(&a), Attributes: map[string][2]string{
					"severity": {"String", a.Severity.String()}, "category": {"String", a.Category}, "rule": {"String", a.Rule}}}
				if tt.fifo {
					p.GroupID, p.DedupID = a.Rule, fmt.Sprintf("%s-%d-1", a.ID, a.LastSeen.Unix())
				}
				want = append(want, p)
			}
			if diff := cmp.Diff(want, srv.got); diff != "" {
				t.Errorf("published (-want +got):\n%s", diff)
			}
			var back Alert
			if err := json.Unmarshal([]byte(srv.got[0].Message), &back); err != nil || back.ID != as[0].ID {
				t.Errorf("message is not the alert's JSON: %v", err)
			}
		})
	}
}

func TestSNSSinkError(t *testing.T) {
	isolateAWS(t)
	srv := newSNSServer(t)
	srv.failAs = "NotFound"
	s, err := NewSink(context.Background(), SinkConfig{Type: SinkSNS, Topic: "arn:aws:sns:us-east-1:123456789012:gone", Endpoint: srv.URL}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), testAlerts()[:1])
	if err == nil || !strings.Contains(err.Error(), "NotFound") || !strings.Contains(err.Error(), "arn:aws:sns:us-east-1:123456789012:gone") {
		t.Fatalf("Send error = %v, want the SNS error code and the topic", err)
	}
	if strings.Contains(err.Error(), testSecretKey) || strings.Contains(err.Error(), "Signature=") {
		t.Errorf("error leaks credentials: %v", err)
	}

	// A client fault is about the request: every alert is tried. A server
	// fault is about SNS: the sink stops there and the rest stay owed.
	for _, tt := range []struct {
		server    bool
		wantCalls int
		wantDown  bool
	}{{false, 2, false}, {true, 1, true}} {
		srv := newSNSServer(t)
		srv.failAs, srv.failServer = "Boom", tt.server
		s, err := NewSink(context.Background(), SinkConfig{Type: SinkSNS, Topic: "arn:aws:sns:us-east-1:123456789012:t", Endpoint: srv.URL, Retries: -1}, Env{})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Send(context.Background(), testAlerts())
		var pe *PartialError
		if !errors.As(err, &pe) || len(pe.Failed) != 2 || pe.Down != tt.wantDown || srv.calls != tt.wantCalls {
			t.Errorf("server fault %v: %d calls, error %v (%+v), want %d calls, down %v", tt.server, srv.calls, err, pe, tt.wantCalls, tt.wantDown)
		}
	}
}

func TestSNSSubject(t *testing.T) {
	tests := []struct {
		sev   Severity
		title string
		want  string
	}{
		{High, "Port scan", "[HIGH] Port scan"},
		{Critical, "Exfil → 203.0.113.9\n(daily)", "[CRITICAL] Exfil -> 203.0.113.9 (daily)"},
		{Low, strings.Repeat("abcdefghij", 12), "[LOW] " + strings.Repeat("abcdefghij", 9)[:90] + "..."},
		{Info, "Zürich ünïcode", "[INFO] Z rich n code"},
	}
	for _, tt := range tests {
		a := Alert{Severity: tt.sev, Title: tt.title}
		got := SNSSubject(&a)
		if got != tt.want {
			t.Errorf("SNSSubject(%q) = %q, want %q", tt.title, got, tt.want)
		}
		if len(got) >= 100 {
			t.Errorf("subject of %d characters", len(got))
		}
	}
}
