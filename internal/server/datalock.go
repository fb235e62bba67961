package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockName is the file in the data directory that a running node (or a
// maintenance command such as `mamori upgrade`) holds an exclusive flock
// on. The kernel drops the lock when the process exits, kill -9
// included, so a crash never leaves a stale lock behind.
const lockName = "LOCK"

// ErrDataDirInUse is returned by LockDataDir when another process holds
// the data directory.
var ErrDataDirInUse = errors.New("data directory is in use")

// LockDataDir takes the data directory dir for this process: two nodes
// writing one store would corrupt it. It creates dir if needed, writes this
// process's pid into dir/LOCK for the error message of the next taker,
// and returns the function that releases the lock. A held lock gives an
// error wrapping ErrDataDirInUse that names the holder's pid.
func LockDataDir(dir string) (release func() error, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600) // #nosec G304 -- the operator's data directory
	if err != nil {
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	fd := int(f.Fd()) // #nosec G115 -- a file descriptor fits an int
	if err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := readHolder(f)
		_ = f.Close() // read only; the lock error is what matters
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock data directory: %w: %s is held by %s (stop it first, or use another --data)", ErrDataDirInUse, dir, holder)
		}
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	// The pid is informational: a failure to write it does not matter.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() error {
		uerr := syscall.Flock(fd, syscall.LOCK_UN)
		cerr := f.Close()
		if uerr != nil {
			return fmt.Errorf("unlock data directory: %w", uerr)
		}
		return cerr
	}, nil
}

// readHolder describes the process named in an open lock file.
func readHolder(f *os.File) string {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0) // a short or failed read leaves the pid unknown
	pid := strings.TrimSpace(string(b[:n]))
	if _, err := strconv.Atoi(pid); err != nil {
		return "another mamori process"
	}
	return "another mamori process (pid " + pid + ")"
}
