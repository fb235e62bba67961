package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	f := func(in string, want procCPU, wantErr bool) {
		t.Helper()
		got, err := parseProcStat([]byte(in))
		if (err != nil) != wantErr {
			t.Fatalf("parseProcStat(%q) error = %v, want error %v", in, err, wantErr)
		}
		if err == nil && got != want {
			t.Fatalf("parseProcStat(%q) = %+v, want %+v", in, got, want)
		}
		if err != nil && err.Error() == "" {
			t.Fatalf("parseProcStat(%q): empty error message", in)
		}
	}
	const tail = " S 1 1234 1234 0 -1 4194560 5555 0 0 0 250 75 0 0 20 0 12 0 9999 123456789 4567 18446744073709551615"
	f("1234 (mamori)"+tail, procCPU{user: 250, system: 75}, false)
	f("1234 (my (weird) cmd) x)"+tail, procCPU{user: 250, system: 75}, false) // name with ") "
	f("1234 (mamori server)"+tail, procCPU{user: 250, system: 75}, false)
	f("", procCPU{}, true)
	f("1234 mamori S 1", procCPU{}, true)
	f("1234 (mamori) S 1 2 3", procCPU{}, true)
	f("1234 (mamori) S 1 1234 1234 0 -1 4194560 5555 0 0 0 x 75 0", procCPU{}, true)
}

func TestProcCPUTotal(t *testing.T) {
	if got := (procCPU{user: 150, system: 50}).total(); got != 2*time.Second {
		t.Fatalf("total() = %v, want 2s", got)
	}
}

func TestParseProcStatus(t *testing.T) {
	f := func(in string, want procMem, wantErr bool) {
		t.Helper()
		got, err := parseProcStatus([]byte(in))
		if (err != nil) != wantErr {
			t.Fatalf("parseProcStatus(%q) error = %v, want error %v", in, err, wantErr)
		}
		if err == nil && got != want {
			t.Fatalf("parseProcStatus(%q) = %+v, want %+v", in, got, want)
		}
	}
	f("Name:\tmamori\nVmPeak:\t 999 kB\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\nThreads: 9\n", procMem{rss: 1 << 20, hwm: 2 << 20}, false)
	f("VmRSS: 1 kB\nVmHWM: 2 kB", procMem{rss: 1 << 10, hwm: 2 << 10}, false)
	f("Name: x\n", procMem{}, true)     // kernel thread: no Vm lines
	f("VmRSS: 1 kB\n", procMem{}, true) // VmHWM missing
	f("VmRSS: x kB\nVmHWM: 2 kB", procMem{}, true)
	f("VmRSS: 1 MB\nVmHWM: 2 kB", procMem{}, true)
}

func TestReadProcSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc on this system")
	}
	pid := os.Getpid()
	if _, err := readProcCPU(pid); err != nil {
		t.Fatalf("readProcCPU(self): %v", err)
	}
	m, err := readProcMem(pid)
	if err != nil {
		t.Fatalf("readProcMem(self): %v", err)
	}
	if m.rss <= 0 || m.hwm < m.rss {
		t.Fatalf("readProcMem(self) = %+v, want 0 < rss <= hwm", m)
	}
	if _, err := readProcCPU(-1); err == nil {
		t.Fatal("readProcCPU(-1): no error")
	}
}

func TestMachineInfo(t *testing.T) {
	if got := parseMemTotal([]byte("MemTotal:       25165824 kB\nMemFree: 1 kB\n")); got != 24<<30 {
		t.Fatalf("parseMemTotal = %d, want %d", got, int64(24<<30))
	}
	if got := parseMemTotal([]byte("garbage")); got != 0 {
		t.Fatalf("parseMemTotal(garbage) = %d, want 0", got)
	}
	if got := parseCPUModel([]byte("processor\t: 0\nmodel name\t: AMD EPYC\n")); got != "AMD EPYC" {
		t.Fatalf("parseCPUModel = %q", got)
	}
	if s := describeMachine().String(); !strings.Contains(s, "cores") {
		t.Fatalf("describeMachine() = %q", s)
	}
}

func FuzzParseProc(f *testing.F) {
	f.Add([]byte("1234 (mamori) S 1 1234 1234 0 -1 4194560 5555 0 0 0 250 75 0 0 20 0 12 0"))
	f.Add([]byte("VmRSS: 1 kB\nVmHWM: 2 kB"))
	f.Add([]byte("1 ()) ) S"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := parseProcStat(b); err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
		if _, err := parseProcStatus(b); err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
		parseMemTotal(b)
		parseCPUModel(b)
	})
}
