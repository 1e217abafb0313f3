package source

import (
	"io"
	"sync"
	"sync/atomic"
)

// countReader counts the bytes read through it; the count may be read from
// another goroutine (progress reporting).
type countReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// prefetch reads ahead of its consumer on its own goroutine, in blocks, with a
// bounded number of blocks in flight (prefetchDepth × prefetchBlock bytes).
type prefetch struct {
	blocks chan []byte
	free   chan []byte
	done   chan struct{}
	once   sync.Once
	cur    []byte
	off    int
	err    error
	errc   chan error
}

const (
	prefetchBlock   = 256 << 10
	prefetchDepth   = 4
	prefetchMinSize = 4 << 20 // compressed bytes
)

func newPrefetch(r io.Reader) *prefetch {
	p := &prefetch{
		blocks: make(chan []byte, prefetchDepth),
		free:   make(chan []byte, prefetchDepth+1),
		done:   make(chan struct{}),
		errc:   make(chan error, 1),
	}
	for range prefetchDepth + 1 {
		p.free <- make([]byte, prefetchBlock)
	}
	go p.run(r)
	return p
}

func (p *prefetch) run(r io.Reader) {
	defer close(p.blocks)
	for {
		var buf []byte
		select {
		case buf = <-p.free:
		case <-p.done:
			return
		}
		n, err := io.ReadFull(r, buf[:cap(buf)])
		if n > 0 {
			select {
			case p.blocks <- buf[:n]:
			case <-p.done:
				return
			}
		}
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		if err != nil {
			p.errc <- err
			return
		}
	}
}

func (p *prefetch) Read(b []byte) (int, error) {
	for p.off >= len(p.cur) {
		if p.err != nil {
			return 0, p.err
		}
		if p.cur != nil {
			p.free <- p.cur[:cap(p.cur)]
			p.cur = nil
		}
		blk, ok := <-p.blocks
		if !ok {
			p.err = <-p.errc
			return 0, p.err
		}
		p.cur, p.off = blk, 0
	}
	n := copy(b, p.cur[p.off:])
	p.off += n
	return n, nil
}

// close stops the reading goroutine.
func (p *prefetch) close() { p.once.Do(func() { close(p.done) }) }
