//go:build unix

package alert

import (
	"fmt"
	"os"
	"syscall"
)

// lockFile takes an advisory lock on f: exclusive for writers, shared for
// readers. It blocks until the lock is free; the kernel drops it if the
// process dies, so a crash never leaves the store locked.
func lockFile(f *os.File, exclusive bool) error {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("lock %s: %w", f.Name(), err)
		}
		return nil
	}
}

func unlockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}
