package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// userHZ is the unit of utime/stime in /proc/<pid>/stat. Linux fixes it at
// 100 for user space on every mainstream architecture, which spares us cgo
// for sysconf(_SC_CLK_TCK).
const userHZ = 100

// cpuSeconds returns user+system CPU time consumed so far by pid.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces or parentheses: parse after
	// the last ')'. What follows starts at field 3 (state).
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	return float64(utime+stime) / userHZ, nil
}

type memStatus struct {
	rss, hwm int64 // bytes
}

// readStatus reads VmRSS and VmHWM (peak RSS) of pid.
func readStatus(pid int) (memStatus, error) {
	var m memStatus
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		if k == "VmRSS" {
			m.rss = n * 1024
		} else {
			m.hwm = n * 1024
		}
	}
	if m.rss == 0 {
		return m, fmt.Errorf("no VmRSS for pid %d", pid)
	}
	return m, nil
}

// resetPeak asks the kernel to reset VmHWM to the current RSS, so the peak
// read at the end of a scenario belongs to that scenario. Needs to own the
// process; when it fails, only the sampler's peak is used.
func resetPeak(pid int) bool {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
}

// rssSampler polls VmRSS while a scenario runs: a fallback for peak RSS when
// clear_refs is refused, and a cross-check when it is not.
type rssSampler struct {
	pid  int
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	peak int64
}

func startSampler(pid int, every time.Duration) *rssSampler {
	s := &rssSampler{pid: pid, stop: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			s.sample()
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) sample() {
	if m, err := readStatus(s.pid); err == nil {
		s.mu.Lock()
		if m.rss > s.peak {
			s.peak = m.rss
		}
		s.mu.Unlock()
	}
}

// finish stops sampling and returns the highest RSS seen.
func (s *rssSampler) finish() int64 {
	close(s.stop)
	s.wg.Wait()
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// machineBusySeconds is the CPU time all processes have spent busy (not idle
// or waiting on I/O), from the first line of /proc/stat. Less the server's
// and the bench's own, it shows how much other load on the machine could
// have disturbed a scenario.
func machineBusySeconds() (float64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("unexpected /proc/stat")
	}
	var busy int64
	for i, v := range f[1:9] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, err
		}
		busy += n
	}
	return float64(busy) / userHZ, nil
}

// procTimes returns the parent pid of pid and its CPU time in seconds:
// its own user+system time plus that of its children it has reaped
// (cutime, cstime), so a child that exited is still counted in its parent.
func procTimes(pid int) (ppid int, cpu float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 15 {
		return 0, 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ppid, err = strconv.Atoi(f[1]) // field 4
	if err != nil {
		return 0, 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	var ticks int64
	for _, v := range f[11:15] { // fields 14-17: utime, stime, cutime, cstime
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("bad /proc/%d/stat", pid)
		}
		ticks += n
	}
	return ppid, float64(ticks) / userHZ, nil
}

// treeCPUSeconds is the CPU time used so far by root and its direct
// children, live or reaped: for PostgreSQL, the postmaster and every
// backend and auxiliary process (all its children). A child that exits
// between two readings moves from the children's sum into the root's
// cutime/cstime, so differences stay right.
func treeCPUSeconds(root int) (float64, error) {
	_, total, err := procTimes(root)
	if err != nil {
		return 0, err
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == root {
			continue
		}
		ppid, cpu, err := procTimes(pid)
		if err != nil || ppid != root {
			continue // gone, or not a child
		}
		total += cpu
	}
	return total, nil
}
