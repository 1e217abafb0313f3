package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go"
)

// snsSink publishes each alert to an Amazon SNS topic: the message is the
// alert's JSON, the subject a short summary, and the message attributes
// severity, category and rule let subscriptions filter.
type snsSink struct {
	name   string
	topic  string
	fifo   bool
	client *sns.Client
}

// topicRegion returns the region field of an SNS topic ARN, "" if arn is not one.
func topicRegion(arn string) string {
	p := strings.Split(arn, ":")
	if len(p) != 6 || p[0] != "arn" || p[2] != "sns" || p[3] == "" {
		return ""
	}
	return p[3]
}

func newSNSSink(ctx context.Context, c *SinkConfig) (*snsSink, error) {
	region := c.Region
	if region == "" {
		region = topicRegion(c.Topic)
	}
	if region == "" {
		return nil, fmt.Errorf("topic %q is not an SNS topic ARN and no region is given", c.Topic)
	}
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRegion(region),
		awsconfig.WithRetryMaxAttempts(c.retries() + 1),
		awsconfig.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(c.timeout())),
	}
	if c.Profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(c.Profile))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	client := sns.NewFromConfig(cfg, func(o *sns.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
	})
	return &snsSink{name: c.Label(), topic: c.Topic, fifo: strings.HasSuffix(c.Topic, ".fifo"), client: client}, nil
}

func (s *snsSink) Name() string { return s.name }

// SNSSubject is the subject of an alert's SNS message: "[SEVERITY] title",
// printable ASCII only (SNS rejects line breaks and control characters, and
// e-mail subscribers read it), under 100 characters.
func SNSSubject(a *Alert) string {
	var b strings.Builder
	for _, r := range "[" + strings.ToUpper(a.Severity.String()) + "] " + a.Title {
		switch {
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		case r == '→':
			b.WriteString("->")
		default:
			b.WriteByte(' ')
		}
	}
	s := strings.Join(strings.Fields(b.String()), " ")
	if len(s) > 99 {
		s = strings.TrimSpace(s[:96]) + "..."
	}
	return s
}

func snsString(v string) types.MessageAttributeValue {
	return types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
}

// input is the Publish request for one alert.
func (s *snsSink) input(a *Alert) (*sns.PublishInput, error) {
	msg, err := json.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("encode alert %s: %w", a.ID, err)
	}
	in := &sns.PublishInput{
		TopicArn: aws.String(s.topic),
		Message:  aws.String(string(msg)),
		Subject:  aws.String(SNSSubject(a)),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"severity": snsString(a.Severity.String()),
			"category": snsString(a.Category),
			"rule":     snsString(a.Rule),
		},
	}
	if s.fifo {
		// One group per rule keeps an incident's updates in order; the
		// deduplication id makes a resent update a no-op.
		in.MessageGroupId = aws.String(a.Rule)
		in.MessageDeduplicationId = aws.String(fmt.Sprintf("%s-%d-%d", a.ID, a.LastSeen.Unix(), a.Count))
	}
	return in, nil
}

func (s *snsSink) Send(ctx context.Context, alerts []Alert) error {
	return sendEach(ctx, alerts, func(a *Alert) error {
		in, err := s.input(a)
		if err != nil {
			return permanentError{fmt.Errorf("publish to %s: %w", s.topic, err)}
		}
		if _, err := s.client.Publish(ctx, in); err != nil {
			err = fmt.Errorf("publish to %s: %w", s.topic, err)
			// A request SNS refuses as the client's fault (a parameter
			// of this message) says nothing about the next alert; a
			// server fault or a network error does.
			var re *awshttp.ResponseError
			if errors.As(err, &re) {
				if c := re.HTTPStatusCode(); c >= 400 && c < 500 && c != http.StatusRequestTimeout && c != http.StatusTooManyRequests {
					return permanentError{err}
				}
			}
			var ae smithy.APIError
			if errors.As(err, &ae) && ae.ErrorFault() == smithy.FaultClient {
				return permanentError{err}
			}
			return err
		}
		return nil
	})
}
