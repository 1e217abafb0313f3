package source

// S3: flow-log objects read straight from a bucket. Objects are listed under
// a prefix (walking the key's date folders when a time range is given, so a
// year-old bucket is not listed whole for a week of logs), downloaded to a
// local staging folder and handed to the ingest pipeline as local files under
// their s3:// names. Which objects are done is kept by S3Manifest.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// S3Scheme starts every S3 source.
const S3Scheme = "s3://"

// IsS3 reports whether a source argument names S3 objects.
func IsS3(arg string) bool { return strings.HasPrefix(arg, S3Scheme) }

// S3Location is a bucket and a key prefix: s3://bucket/prefix.
type S3Location struct {
	Bucket, Prefix string
}

// ParseS3Location reads s3://bucket[/prefix]. The prefix is used as given: a
// folder ends with "/", and without it "logs/2024" also matches "logs/2024x".
func ParseS3Location(s string) (S3Location, error) {
	rest, ok := strings.CutPrefix(s, S3Scheme)
	if !ok {
		return S3Location{}, fmt.Errorf("%q is not an s3:// location", s)
	}
	bucket, prefix, _ := strings.Cut(rest, "/")
	if bucket == "" {
		return S3Location{}, fmt.Errorf("%q names no bucket: want s3://bucket/prefix", s)
	}
	if !validBucket.MatchString(bucket) {
		return S3Location{}, fmt.Errorf("%q: %q is not a bucket name (3 to 63 lowercase letters, digits, dots and hyphens)", s, bucket)
	}
	return S3Location{Bucket: bucket, Prefix: prefix}, nil
}

var validBucket = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// String returns the location as s3://bucket/prefix.
func (l S3Location) String() string { return S3Scheme + l.Bucket + "/" + l.Prefix }

// S3Object is one listed object.
type S3Object struct {
	Bucket, Key  string
	Size         int64
	ETag         string // as S3 returns it, quotes removed
	LastModified time.Time
}

// URI returns s3://bucket/key, the name under which the object is ingested.
func (o S3Object) URI() string { return S3Scheme + o.Bucket + "/" + o.Key }

// S3Options say how to reach S3. Zero values take the AWS SDK's defaults:
// the standard credential chain (environment, shared config and credentials
// files, SSO, web identity, container and instance roles) and region.
type S3Options struct {
	// Region is the bucket's region (default: AWS_REGION, the profile's, else
	// us-east-1).
	Region string
	// Endpoint is the URL of an S3-compatible service (default AWS; the SDK
	// also reads AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL).
	Endpoint string
	// PathStyle addresses buckets as ENDPOINT/bucket/key instead of
	// bucket.ENDPOINT/key, as most S3-compatible services need.
	PathStyle bool
	// Profile is the shared-config profile (default AWS_PROFILE, else default).
	Profile string
	// MaxAttempts is the number of tries of each request, throttling
	// (503 SlowDown) and dropped connections included (default 8).
	MaxAttempts int
}

// S3 lists and downloads flow-log objects. It is safe for concurrent use.
type S3 struct {
	client   *s3.Client
	region   string
	endpoint string
	creds    aws.CredentialsProvider
	lists    atomic.Int64
}

// NewS3 prepares a client. It reaches no network: credentials are looked up
// on the first request (see CheckCredentials).
func NewS3(ctx context.Context, o S3Options) (*S3, error) {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = o.MaxAttempts
				so.MaxBackoff = 20 * time.Second
				// Nothing listening at the endpoint is a setting to fix,
				// not a moment to wait out.
				so.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
					if errors.Is(err, syscall.ECONNREFUSED) {
						return aws.FalseTernary
					}
					return aws.UnknownTernary
				})}, so.Retryables...)
			})
		}),
	}
	if o.Region != "" {
		opts = append(opts, awsconfig.WithRegion(o.Region))
	}
	if o.Profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(o.Profile))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	c := &S3{region: cfg.Region, creds: cfg.Credentials, endpoint: o.Endpoint}
	if c.endpoint == "" {
		c.endpoint = cmpOr(os.Getenv("AWS_ENDPOINT_URL_S3"), os.Getenv("AWS_ENDPOINT_URL"))
	}
	if c.endpoint != "" {
		u, err := url.Parse(c.endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("S3 endpoint %q: want a URL such as http://127.0.0.1:8333", c.endpoint)
		}
	}
	c.client = s3.NewFromConfig(cfg, func(so *s3.Options) {
		so.UsePathStyle = o.PathStyle
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
		}
		// Objects are checked by their size; the checksum S3 keeps only for
		// some uploads is checked when present, without a log line when not.
		so.DisableLogOutputChecksumValidationSkipped = true
	})
	return c, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Region returns the region requests are signed for.
func (c *S3) Region() string { return c.region }

// ListCalls returns the number of LIST requests made so far.
func (c *S3) ListCalls() int64 { return c.lists.Load() }

// CheckCredentials finds credentials through the standard chain, so that
// their absence is one clear error before any listing.
func (c *S3) CheckCredentials(ctx context.Context) error {
	if c.creds == nil {
		return errNoCredentials(nil)
	}
	if _, err := c.creds.Retrieve(ctx); err != nil {
		return errNoCredentials(err)
	}
	return nil
}

func errNoCredentials(err error) error {
	msg := "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, " +
		"or AWS_PROFILE (--s3-profile) naming a profile of ~/.aws/config, or run with an instance or container role"
	if err != nil {
		return fmt.Errorf("%s (%v)", msg, err)
	}
	return errors.New(msg)
}

// TimeRange bounds the objects listed by the time in their keys; zero ends
// are open.
type TimeRange struct {
	From, To time.Time
}

// IsZero reports whether the range is unbounded.
func (r TimeRange) IsZero() bool { return r.From.IsZero() && r.To.IsZero() }

// DeliverySlack is how long before the time in an object's key its records
// may start: an object delivered at 00:05 holds flows of the day before. A
// range's end is extended by it when objects are chosen by their keys.
const DeliverySlack = time.Hour

// overlaps reports whether objects delivered in [a, b) may hold records that
// start in r.
func (r TimeRange) overlaps(a, b time.Time) bool {
	if !r.From.IsZero() && !b.After(r.From) {
		return false
	}
	if !r.To.IsZero() && !a.Add(-DeliverySlack).Before(r.To) {
		return false
	}
	return true
}

// ListStats count the work of a listing.
type ListStats struct {
	// Calls is the number of LIST requests.
	Calls int64
	// Listed is the number of objects listed and kept; Pruned the objects
	// and folders left out by the time range without being listed whole.
	Listed, Pruned int64
}

// List calls each for every object under loc whose key may hold records in
// r, in key order within each folder. With a bounded r it walks the key's
// folders and skips date folders (AWS's …/YYYY/MM/DD/ and the Hive-style
// year=YYYY/month=MM/day=DD/hour=HH/ layouts) outside the range without
// listing them; object names with AWS's _YYYYMMDDTHHMMZ_ stamp are chosen by
// it. Folders with no date in their path are listed.
func (c *S3) List(ctx context.Context, loc S3Location, r TimeRange, each func(S3Object) error) (st ListStats, err error) {
	calls0 := c.lists.Load()
	defer func() { st.Calls = c.lists.Load() - calls0 }()
	var walk func(prefix string, flat bool) error
	walk = func(prefix string, flat bool) error {
		in := &s3.ListObjectsV2Input{Bucket: aws.String(loc.Bucket), Prefix: aws.String(prefix)}
		if !flat {
			in.Delimiter = aws.String("/")
		}
		p := s3.NewListObjectsV2Paginator(c.client, in)
		for p.HasMorePages() {
			c.lists.Add(1)
			page, err := p.NextPage(ctx)
			if err != nil {
				return c.explain(err, "list "+S3Scheme+loc.Bucket+"/"+prefix)
			}
			for _, o := range page.Contents {
				obj := S3Object{Bucket: loc.Bucket, Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size), ETag: strings.Trim(aws.ToString(o.ETag), `"`), LastModified: aws.ToTime(o.LastModified).UTC()}
				if strings.HasSuffix(obj.Key, "/") && obj.Size == 0 {
					continue // a folder marker
				}
				if !r.IsZero() {
					if a, b, ok := keyTime(obj.Key); ok && !r.overlaps(a, b) {
						st.Pruned++
						continue
					}
				}
				st.Listed++
				if err := each(obj); err != nil {
					return err
				}
			}
			for _, cp := range page.CommonPrefixes {
				sub := aws.ToString(cp.Prefix)
				a, b, depth, ok := folderTime(sub)
				if ok && !r.overlaps(a, b) {
					st.Pruned++
					continue
				}
				// Below a day folder (or an hour's), everything is listed
				// in one flat pass.
				if err := walk(sub, ok && depth >= 3); err != nil {
					return err
				}
			}
		}
		return nil
	}
	defer func() {
		slog.Debug("s3 listing done", "location", loc.String(), "objects", st.Listed, "pruned", st.Pruned, "requests", c.lists.Load()-calls0, "err", err)
	}()
	if r.IsZero() {
		return st, walk(loc.Prefix, true)
	}
	if a, b, depth, ok := folderTime(loc.Prefix); ok {
		if !r.overlaps(a, b) {
			st.Pruned++
			return st, nil
		}
		return st, walk(loc.Prefix, depth >= 3)
	}
	return st, walk(loc.Prefix, false)
}

var (
	yearDir  = regexp.MustCompile(`^(?:year=)?((?:19|20|21)\d\d)$`)
	monthDir = regexp.MustCompile(`^(?:month=)?(0[1-9]|1[0-2])$`)
	dayDir   = regexp.MustCompile(`^(?:day=)?(0[1-9]|[12]\d|3[01])$`)
	hourDir  = regexp.MustCompile(`^(?:hour=)?([01]\d|2[0-3])$`)
	// keyStamp is the time in the name of an object AWS delivers.
	keyStamp = regexp.MustCompile(`_(\d{8}T\d{4}Z)_[^/]*$`)
)

// folderTime finds the dates in the complete folders of prefix (the part up
// to its last "/"): a year folder followed by month, day and hour folders,
// as AWS's and the Hive-style layouts have them. It returns the span they
// cover and how many of year, month, day, hour it found (1 to 4).
func folderTime(prefix string) (a, b time.Time, depth int, ok bool) {
	i := strings.LastIndexByte(prefix, '/')
	if i < 0 {
		return a, b, 0, false
	}
	parts := strings.Split(prefix[:i], "/")
	for j, p := range parts {
		m := yearDir.FindStringSubmatch(p)
		if m == nil {
			continue
		}
		y, _ := strconv.Atoi(m[1])
		vals := []int{y, 1, 1, 0}
		depth = 1
		for k, re := range []*regexp.Regexp{monthDir, dayDir, hourDir} {
			if j+1+k >= len(parts) {
				break
			}
			mm := re.FindStringSubmatch(parts[j+1+k])
			if mm == nil {
				break
			}
			vals[k+1], _ = strconv.Atoi(mm[1])
			depth++
		}
		a = time.Date(vals[0], time.Month(vals[1]), vals[2], vals[3], 0, 0, 0, time.UTC)
		switch depth {
		case 1:
			b = a.AddDate(1, 0, 0)
		case 2:
			b = a.AddDate(0, 1, 0)
		case 3:
			b = a.AddDate(0, 0, 1)
		default:
			b = a.Add(time.Hour)
		}
		if depth >= 3 && a.Day() != vals[2] {
			return a, b, 0, false // 2024/02/31: not a date
		}
		return a, b, depth, true
	}
	return a, b, 0, false
}

// keyTime is the delivery span of one object: the minute of the stamp in its
// name, else its date folders.
func keyTime(key string) (a, b time.Time, ok bool) {
	if m := keyStamp.FindStringSubmatch(key); m != nil {
		if t, err := time.Parse("20060102T1504Z", m[1]); err == nil {
			return t, t.Add(time.Minute), true
		}
	}
	a, b, _, ok = folderTime(key)
	return a, b, ok
}

// Download copies obj into file path: to path.tmp first, renamed when
// complete, with the object's modification time. A transfer cut off is
// resumed where it stopped (the SDK retries each request; this retries
// bodies that break off), up to attempts times. It returns the bytes
// transferred.
func (c *S3) Download(ctx context.Context, obj S3Object, path string, attempts int, progress func(int64)) (int64, error) {
	if attempts <= 0 {
		attempts = 4
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return 0, fmt.Errorf("stage %s: %w", obj.URI(), err)
	}
	defer func() {
		if f != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	var got, moved int64
	var lastErr error
	for try := 0; try < attempts; try++ {
		if try > 0 {
			select {
			case <-ctx.Done():
				return moved, ctx.Err()
			case <-time.After(time.Duration(try*try) * 200 * time.Millisecond):
			}
		}
		in := &s3.GetObjectInput{Bucket: aws.String(obj.Bucket), Key: aws.String(obj.Key)}
		if got > 0 {
			// Resume, and only from the same object.
			in.Range = aws.String(fmt.Sprintf("bytes=%d-", got))
			if obj.ETag != "" {
				in.IfMatch = aws.String(`"` + obj.ETag + `"`)
			}
		}
		out, err := c.client.GetObject(ctx, in)
		if err != nil {
			if ctx.Err() != nil {
				return moved, ctx.Err()
			}
			lastErr = c.explain(err, "get "+obj.URI())
			if !retryable(err) {
				return moved, lastErr
			}
			continue
		}
		if got > 0 && out.ContentRange == nil {
			// The server ignored the range and sent the whole object.
			if err := f.Truncate(0); err != nil {
				out.Body.Close()
				return moved, fmt.Errorf("stage %s: %w", obj.URI(), err)
			}
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				out.Body.Close()
				return moved, fmt.Errorf("stage %s: %w", obj.URI(), err)
			}
			got = 0
		}
		n, err := io.Copy(f, &progressReader{r: out.Body, add: progress})
		out.Body.Close()
		got += n
		moved += n
		if err == nil && got == obj.Size {
			lastErr = nil
			break
		}
		if err == nil {
			if got > obj.Size {
				return moved, fmt.Errorf("get %s: %d bytes, more than the %d it was listed with (replaced meanwhile?)", obj.URI(), got, obj.Size)
			}
			err = io.ErrUnexpectedEOF
		}
		if ctx.Err() != nil {
			return moved, ctx.Err()
		}
		lastErr = fmt.Errorf("get %s: transfer broke off after %d of %d bytes: %w", obj.URI(), got, obj.Size, err)
		slog.Debug("s3 transfer broke off", "uri", obj.URI(), "bytes", got, "size", obj.Size, "attempt", try+1, "err", err)
	}
	if lastErr != nil {
		return moved, fmt.Errorf("%w (%d attempts)", lastErr, attempts)
	}
	if err := f.Close(); err != nil {
		return moved, fmt.Errorf("stage %s: %w", obj.URI(), err)
	}
	f = nil
	if !obj.LastModified.IsZero() {
		if err := os.Chtimes(tmp, obj.LastModified, obj.LastModified); err != nil {
			os.Remove(tmp)
			return moved, fmt.Errorf("stage %s: %w", obj.URI(), err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return moved, fmt.Errorf("stage %s: %w", obj.URI(), err)
	}
	return moved, nil
}

type progressReader struct {
	r   io.Reader
	add func(int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 && p.add != nil {
		p.add(int64(n))
	}
	return n, err
}

// retryable reports whether a failed GetObject is worth another attempt
// after the SDK's own retries: not when S3 answered with a refusal.
func retryable(err error) bool {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		switch s := re.HTTPStatusCode(); {
		case s == http.StatusPreconditionFailed, s == http.StatusRequestedRangeNotSatisfiable:
			return false
		case s >= 400 && s < 500 && s != http.StatusRequestTimeout && s != http.StatusTooManyRequests:
			return false
		}
	}
	return true
}

// explain turns an SDK error into one that says what went wrong in the
// user's terms: which bucket, whether it exists, whose the refusal is, which
// region the bucket is in.
func (c *S3) explain(err error, what string) error {
	var re *smithyhttp.ResponseError
	status := 0
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	code := ""
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	bucketRegion := ""
	if re != nil && re.Response != nil {
		bucketRegion = re.Response.Header.Get("X-Amz-Bucket-Region")
	}
	switch {
	case code == "NoSuchBucket":
		return fmt.Errorf("%s: no such bucket (%s)", what, c.where())
	case code == "NoSuchKey" || status == http.StatusNotFound:
		return fmt.Errorf("%s: not found (404); deleted since it was listed?", what)
	case status == http.StatusMovedPermanently || code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed" && bucketRegion != "":
		if bucketRegion != "" {
			return fmt.Errorf("%s: the bucket is in region %s, not %s: give --s3-region %s", what, bucketRegion, c.region, bucketRegion)
		}
		return fmt.Errorf("%s: the bucket is in another region than %s (301 moved permanently): give its region with --s3-region", what, c.region)
	case code == "AccessDenied" || status == http.StatusForbidden:
		return fmt.Errorf("%s: access denied (403): the credentials in use may not read it (they need s3:ListBucket on the bucket and s3:GetObject on its keys)", what)
	case code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch":
		return fmt.Errorf("%s: the credentials were refused (%s): check the access key and secret", what, code)
	case code == "SlowDown" || status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests:
		return fmt.Errorf("%s: throttled by S3 (%s) after the SDK's retries: try again later or with fewer --s3-downloads", what, cmpOr(code, strconv.Itoa(status)))
	}
	var ne net.Error
	var oe *net.OpError
	var de *net.DNSError
	if errors.As(err, &oe) || errors.As(err, &de) || errors.As(err, &ne) {
		return fmt.Errorf("%s: cannot reach %s: %w", what, c.where(), rootCause(err))
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if strings.Contains(err.Error(), "get credentials") || strings.Contains(err.Error(), "retrieve credentials") {
		return errNoCredentials(err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// where names the endpoint requests go to.
func (c *S3) where() string {
	if c.endpoint != "" {
		return "endpoint " + c.endpoint
	}
	return "AWS region " + c.region
}

// rootCause is the innermost error, without the SDK's layers of operation
// and retry wrapping.
func rootCause(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		var oe *net.OpError
		if errors.As(err, &oe) && errors.Unwrap(oe) != nil {
			return oe
		}
		err = u
	}
}

// StagingName is the file name an object is downloaded to: unique per key
// and version, with the key's extension kept for whoever looks.
func StagingName(obj S3Object) string {
	h := fnv64(obj.Bucket + "/" + obj.Key + "\x00" + obj.ETag)
	ext := path.Ext(obj.Key)
	if len(ext) > 12 || strings.ContainsAny(ext, `/\`) {
		ext = ""
	}
	return fmt.Sprintf("%016x%s", h, ext)
}

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
