package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// buildServer builds cmd/mamori into bin. It tries twice: on a machine
// where several builds share the Go cache, one can fail on a file that
// another build is replacing ("could not import unicode").
func buildServer(ctx context.Context, bin string) error {
	var out []byte
	var err error
	for range 2 {
		out, err = exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/mamori").CombinedOutput()
		if err == nil || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("build server: %w\n%s", err, out)
	}
	return nil
}

// serverProc is a running `mamori server`.
type serverProc struct {
	cmd  *exec.Cmd
	base string // http://host:port
	log  string // file with the server's stdout and stderr
	done chan struct{}
	err  error // the Wait result, set before done closes
}

// serverOptions says how to start the server.
type serverOptions struct {
	bin, dataDir, addr, token, logFile string
	fsync                              string // "" = the server's default
	extraArgs                          []string
	healthTimeout                      time.Duration
}

// startServer starts the server and waits until GET /healthz answers 200.
func startServer(ctx context.Context, o serverOptions, log *slog.Logger) (*serverProc, error) {
	addr := o.addr
	if addr == "" {
		a, err := freeAddr()
		if err != nil {
			return nil, fmt.Errorf("start server: %w", err)
		}
		addr = a
	}
	lf, err := os.Create(o.logFile)
	if err != nil {
		return nil, fmt.Errorf("start server: %w", err)
	}
	args := []string{"server", "--data", o.dataDir, "--http", addr, "--syslog", "off"}
	if o.fsync != "" {
		args = append(args, "--fsync", o.fsync)
	}
	args = append(args, o.extraArgs...)
	// Not CommandContext: the server must get SIGTERM and time to close,
	// even when the harness is interrupted.
	cmd := exec.Command(o.bin, args...)
	cmd.Env = append(os.Environ(), "MAMORI_ADMIN_TOKEN="+o.token)
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start server: %w", err)
	}
	s := &serverProc{cmd: cmd, base: "http://" + addr, log: o.logFile, done: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		lf.Close()
		close(s.done)
	}()
	log.Info("server started", "pid", cmd.Process.Pid, "addr", addr, "data", o.dataDir, "log", o.logFile)
	if err := s.waitHealthy(ctx, o.healthTimeout); err != nil {
		s.stop(log, 10*time.Second)
		return nil, fmt.Errorf("start server: %w (see %s)", err, o.logFile)
	}
	return s, nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("pick a port: %w", err)
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

func (s *serverProc) pid() int { return s.cmd.Process.Pid }

// waitHealthy polls /healthz until it answers 200, the process exits or
// the timeout passes.
func (s *serverProc) waitHealthy(ctx context.Context, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	deadline := time.Now().Add(timeout)
	c := &http.Client{Timeout: 2 * time.Second}
	last := "no answer"
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("server exited before it was healthy: %v", s.err)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		resp, err := c.Get(s.base + "/healthz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body) // drain for keep-alive; the status is what counts
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("healthz not 200 after %s: %s", timeout, last)
}

// stop sends SIGTERM, waits up to grace, then kills the process.
func (s *serverProc) stop(log *slog.Logger, grace time.Duration) error {
	select {
	case <-s.done:
		return s.exitErr()
	default:
	}
	start := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		log.Warn("sigterm failed", "err", err)
	}
	select {
	case <-s.done:
		log.Info("server stopped", "took", time.Since(start).Round(time.Millisecond))
		return s.exitErr()
	case <-time.After(grace):
	}
	log.Warn("server did not stop after SIGTERM, killing it", "grace", grace)
	if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill server: %w", err)
	}
	<-s.done
	return fmt.Errorf("server did not stop within %s of SIGTERM", grace)
}

func (s *serverProc) exitErr() error {
	if s.err != nil {
		return fmt.Errorf("server exit: %w (see %s)", s.err, s.log)
	}
	return nil
}

// dirSize is the total size of the regular files under dir.
func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // a part removed by a merge while we walk
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		n += fi.Size()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("size of %s: %w", dir, err)
	}
	return n, nil
}

// settle waits until the size of dir and the server's CPU time stop
// changing for quiet, or until timeout. It returns how long it waited.
func settle(ctx context.Context, dir string, pid int, quiet, timeout time.Duration, log *slog.Logger) (time.Duration, error) {
	waited, _, err := settleBusy(ctx, dir, pid, quiet, timeout, log)
	return waited, err
}

// settleBusy is settle that also returns the server's CPU time when the
// quiet period began (the end of the flushes and merges, without the idle
// wait that confirms it; the CPU at the return on timeout).
func settleBusy(ctx context.Context, dir string, pid int, quiet, timeout time.Duration, log *slog.Logger) (time.Duration, time.Duration, error) {
	start := time.Now()
	const every = time.Second
	lastSize, lastCPU := int64(-1), time.Duration(-1)
	stable := time.Duration(0)
	quietCPU := time.Duration(0)
	for time.Since(start) < timeout {
		size, err := dirSize(dir)
		if err != nil {
			return time.Since(start), 0, err
		}
		c, err := readProcCPU(pid)
		if err != nil {
			return time.Since(start), 0, err
		}
		// Idle means: no bytes written and under 5% of a core busy.
		if size == lastSize && c.total()-lastCPU < every/20 {
			stable += every
			if stable >= quiet {
				return time.Since(start), quietCPU, nil
			}
		} else {
			stable, quietCPU = 0, c.total()
		}
		lastSize, lastCPU = size, c.total()
		select {
		case <-ctx.Done():
			return time.Since(start), 0, ctx.Err()
		case <-time.After(every):
		}
	}
	log.Warn("store still changing, measuring anyway", "waited", timeout)
	c, err := readProcCPU(pid)
	return time.Since(start), c.total(), err
}
