package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat.
// Linux reports it as 100 on every architecture Go supports.
const clockTicks = 100

// procCPU is the CPU time a process has used so far (user + system).
type procCPU struct {
	user, system int64 // clock ticks
}

func (c procCPU) total() time.Duration {
	return time.Duration(c.user+c.system) * time.Second / clockTicks
}

// parseProcStat reads utime and stime (fields 14 and 15) from the text of
// /proc/PID/stat. The command name (field 2) may hold spaces and
// parentheses, so fields are counted after the last ')'.
func parseProcStat(b []byte) (procCPU, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procCPU{}, fmt.Errorf("parse proc stat: no ')' after the command name")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state), so field k is f[k-3].
	if len(f) < 13 {
		return procCPU{}, fmt.Errorf("parse proc stat: %d fields after the command name, want at least 13", len(f))
	}
	ut, err := strconv.ParseInt(f[11], 10, 64)
	if err != nil {
		return procCPU{}, fmt.Errorf("parse proc stat: utime: %w", err)
	}
	st, err := strconv.ParseInt(f[12], 10, 64)
	if err != nil {
		return procCPU{}, fmt.Errorf("parse proc stat: stime: %w", err)
	}
	return procCPU{user: ut, system: st}, nil
}

func readProcCPU(pid int) (procCPU, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procCPU{}, fmt.Errorf("read cpu time: %w", err)
	}
	return parseProcStat(b)
}

// procMem is the resident memory of a process in bytes.
type procMem struct {
	rss, hwm int64 // VmRSS and VmHWM (peak RSS)
}

// parseProcStatus reads VmRSS and VmHWM from the text of /proc/PID/status.
func parseProcStatus(b []byte) (procMem, error) {
	var m procMem
	var seen int
	for _, ln := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(ln, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return procMem{}, fmt.Errorf("parse proc status: %s: want \"N kB\", got %q", name, strings.TrimSpace(rest))
		}
		v, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return procMem{}, fmt.Errorf("parse proc status: %s: %w", name, err)
		}
		if name == "VmRSS" {
			m.rss = v << 10
		} else {
			m.hwm = v << 10
		}
		seen++
	}
	if seen < 2 {
		return procMem{}, fmt.Errorf("parse proc status: VmRSS or VmHWM missing")
	}
	return m, nil
}

func readProcMem(pid int) (procMem, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return procMem{}, fmt.Errorf("read memory: %w", err)
	}
	return parseProcStatus(b)
}

// machine describes the host for the report.
type machine struct {
	CPUs     int    `json:"cpus"`
	CPUModel string `json:"cpu_model"`
	MemBytes int64  `json:"mem_bytes"`
	Kernel   string `json:"kernel"`
	Go       string `json:"go"`
}

func (m machine) String() string {
	return fmt.Sprintf("%d cores (%s), %.0f GiB RAM, Linux %s, %s", m.CPUs, m.CPUModel, float64(m.MemBytes)/(1<<30), m.Kernel, m.Go)
}

// parseMemTotal reads MemTotal from the text of /proc/meminfo (0 if absent).
func parseMemTotal(b []byte) int64 {
	for _, ln := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(ln, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				v, _ := strconv.ParseInt(f[0], 10, 64) // 0 on garbage: only informative
				return v << 10
			}
		}
	}
	return 0
}

// parseCPUModel reads the first "model name" of /proc/cpuinfo.
func parseCPUModel(b []byte) string {
	for _, ln := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(ln, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown cpu"
}
