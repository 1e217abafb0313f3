package source

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// isCloudWatchExport reports whether br holds what `aws logs filter-log-events`
// prints: a JSON object whose first key is events, searchedLogStreams or
// nextToken. ({"message": …} lines, which some shippers write, are not: the
// flowlog scanner unwraps those itself.)
func isCloudWatchExport(br *bufio.Reader) bool {
	head, _ := br.Peek(4096)
	head = bytes.TrimLeft(head, " \t\r\n")
	if len(head) == 0 || head[0] != '{' {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(head))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	t, err := dec.Token()
	if err != nil {
		return false
	}
	key, _ := t.(string)
	return key == "events" || key == "searchedLogStreams" || key == "nextToken"
}

// cloudWatchText streams the messages of the events of one or more
// concatenated filter-log-events outputs as lines, without holding the export
// in memory. Line N of the text is the N-th event.
type cloudWatchText struct {
	dec    *json.Decoder
	out    []byte
	off    int
	err    error
	inArr  bool
	events int
}

func newCloudWatchReader(r io.Reader) io.Reader {
	return &cloudWatchText{dec: json.NewDecoder(r)}
}

type cwEvent struct {
	LogStreamName string `json:"logStreamName"`
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
}

func (c *cloudWatchText) Read(b []byte) (int, error) {
	for c.off >= len(c.out) {
		if c.err != nil {
			return 0, c.err
		}
		c.out, c.off = c.out[:0], 0
		c.fill()
	}
	n := copy(b, c.out[c.off:])
	c.off += n
	return n, nil
}

func (c *cloudWatchText) fail(format string, a ...any) {
	c.err = fmt.Errorf("CloudWatch export, byte %d: %s", c.dec.InputOffset(), fmt.Sprintf(format, a...))
}

// fill decodes up to 256 events into c.out.
func (c *cloudWatchText) fill() {
	for k := 0; k < 256; k++ {
		if c.inArr {
			if !c.dec.More() {
				if _, err := c.dec.Token(); err != nil { // ]
					c.fail("%v", err)
					return
				}
				c.inArr = false
				continue
			}
			var e cwEvent
			if err := c.dec.Decode(&e); err != nil {
				c.fail("event %d: %v", c.events+1, err)
				return
			}
			c.events++
			msg := strings.TrimRight(e.Message, "\r\n")
			msg = strings.ReplaceAll(msg, "\n", " ")
			c.out = append(c.out, msg...)
			c.out = append(c.out, '\n')
			continue
		}
		// Between the keys of an export object, or between objects.
		t, err := c.dec.Token()
		if err == io.EOF {
			c.err = io.EOF
			return
		}
		if err != nil {
			c.fail("%v", err)
			return
		}
		switch t := t.(type) {
		case json.Delim:
			if t != '{' && t != '}' {
				c.fail("unexpected %v: expected an object with an events array", t)
				return
			}
		case string:
			if t == "events" {
				if d, err := c.dec.Token(); err != nil || d != json.Delim('[') {
					c.fail("events is not an array")
					return
				}
				c.inArr = true
				continue
			}
			var skip json.RawMessage
			if err := c.dec.Decode(&skip); err != nil {
				c.fail("value of %s: %v", t, err)
				return
			}
		default:
			c.fail("unexpected value %v: expected an object with an events array", t)
			return
		}
	}
}
