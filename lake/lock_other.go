//go:build !unix

package lake

import (
	"context"
	"fmt"
	"os"
)

// lockExclusive opens path with O_EXCL semantics unavailable here: on systems
// without flock, flowlens relies on one process using a data folder at a time.
func lockExclusive(ctx context.Context, path string, wait func(pid int)) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	return f, nil
}

func lockShared(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	return f, nil
}

func unlockFile(f *os.File) error { return f.Close() }

// tryLock never takes the lock where flock is unavailable.
func tryLock(path string) (*os.File, bool) { return nil, false }
