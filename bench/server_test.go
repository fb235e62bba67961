package main

import (
	"context"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary play `mamori server` for startServer: with
// BENCH_FAKE_SERVER set it serves /healthz on --http and writes a file in
// --data until SIGTERM (or ignores SIGTERM when the variable is "stubborn").
func TestMain(m *testing.M) {
	if mode := os.Getenv("BENCH_FAKE_SERVER"); mode != "" {
		fakeServer(mode)
		return
	}
	os.Exit(m.Run())
}

func fakeServer(mode string) {
	fs := flag.NewFlagSet("server", flag.ExitOnError)
	data := fs.String("data", "", "")
	addr := fs.String("http", "", "")
	fs.String("syslog", "", "")
	fs.String("fsync", "", "")
	fs.Parse(os.Args[2:])
	if mode == "crash" {
		os.Exit(3)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	os.MkdirAll(filepath.Join(*data, "store"), 0o755)
	os.WriteFile(filepath.Join(*data, "store", "part"), []byte("0123456789"), 0o644)
	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if os.Getenv("MAMORI_ADMIN_TOKEN") != "tok" {
			http.Error(w, "no token", http.StatusServiceUnavailable)
		}
	})
	go http.ListenAndServe(*addr, nil)
	for range sig {
		if mode != "stubborn" {
			os.Exit(0)
		}
	}
}

func startFake(t *testing.T, mode string) (*serverProc, string, error) {
	t.Helper()
	t.Setenv("BENCH_FAKE_SERVER", mode)
	dir := t.TempDir()
	s, err := startServer(context.Background(), serverOptions{
		bin: os.Args[0], dataDir: filepath.Join(dir, "data"), token: "tok",
		logFile: filepath.Join(dir, "server.log"), healthTimeout: 20 * time.Second,
	}, slog.New(slog.DiscardHandler))
	return s, dir, err
}

func TestServerLifecycle(t *testing.T) {
	s, dir, err := startFake(t, "normal")
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		t.Fatalf("startServer: %v\n%s", err, log)
	}
	if _, err := readProcCPU(s.pid()); err != nil {
		t.Fatalf("readProcCPU(server): %v", err)
	}
	store := filepath.Join(dir, "data", "store")
	waited, err := settle(context.Background(), store, s.pid(), 2*time.Second, 20*time.Second, slog.New(slog.DiscardHandler))
	if err != nil || waited < 2*time.Second {
		t.Fatalf("settle = %v, %v", waited, err)
	}
	if n, err := dirSize(store); err != nil || n != 10 {
		t.Fatalf("dirSize = %d, %v, want 10", n, err)
	}
	if err := s.stop(slog.New(slog.DiscardHandler), 20*time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := s.stop(slog.New(slog.DiscardHandler), time.Second); err != nil {
		t.Fatalf("second stop: %v", err)
	}
}

func TestServerCrash(t *testing.T) {
	_, _, err := startFake(t, "crash")
	if err == nil || !strings.Contains(err.Error(), "exited before it was healthy") {
		t.Fatalf("startServer(crash) error = %v", err)
	}
}

func TestServerStubborn(t *testing.T) {
	s, _, err := startFake(t, "stubborn")
	if err != nil {
		t.Fatalf("startServer: %v", err)
	}
	err = s.stop(slog.New(slog.DiscardHandler), 500*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "did not stop") {
		t.Fatalf("stop(stubborn) error = %v", err)
	}
}

func TestDirSizeMissing(t *testing.T) {
	if n, err := dirSize(filepath.Join(t.TempDir(), "none")); err != nil || n != 0 {
		t.Fatalf("dirSize(missing) = %d, %v, want 0, nil", n, err)
	}
}
