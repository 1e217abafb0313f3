package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// encodeLines renders alerts one per line: JSON objects for ndjson (and ""),
// Alert.Line for text.
func encodeLines(alerts []Alert, format string) ([]byte, error) {
	var buf bytes.Buffer
	for i := range alerts {
		if format == "text" {
			buf.WriteString(alerts[i].Line())
			buf.WriteByte('\n')
			continue
		}
		b, err := json.Marshal(alerts[i])
		if err != nil {
			return nil, fmt.Errorf("encode alert %s: %w", alerts[i].ID, err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return buf.Bytes(), nil
}

// StdoutSink writes alerts to a writer, one per line, as NDJSON or as the
// human line of Alert.Line.
type StdoutSink struct {
	name   string
	format string
	mu     sync.Mutex
	w      io.Writer
}

// NewStdoutSink returns a sink writing to w in format ndjson (also "") or text.
func NewStdoutSink(name string, w io.Writer, format string) *StdoutSink {
	return &StdoutSink{name: name, w: w, format: format}
}

// Name returns the sink's name.
func (s *StdoutSink) Name() string { return s.name }

// Send writes the alerts in one write.
func (s *StdoutSink) Send(ctx context.Context, alerts []Alert) error {
	b, err := encodeLines(alerts, s.format)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err = s.w.Write(b)
	return err
}

// fileSink appends alerts to a file and fsyncs it, one write per batch so
// that concurrent writers (O_APPEND) never interleave inside a line.
type fileSink struct {
	name, path, format string
	mu                 sync.Mutex
}

func (s *fileSink) Name() string { return s.name }

func (s *fileSink) Send(ctx context.Context, alerts []Alert) error {
	b, err := encodeLines(alerts, s.format)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if dir := filepath.Dir(s.path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create alert file folder: %w", err)
		}
	}
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("open alert file: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("append to alert file %s: %w", s.path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync alert file %s: %w", s.path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close alert file %s: %w", s.path, err)
	}
	return nil
}
