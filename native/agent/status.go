package agent

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Kinds of open sessions the agent reports (what the gateway's activity counts).
const (
	KindShell   = "shell"
	KindExec    = "exec"
	KindSftp    = "sftp"
	KindForward = "forward"
)

// Status is what the status file holds.
type Status struct {
	Version     string         `json:"version"`
	StartedAt   time.Time      `json:"started_at"`
	Connections int            `json:"connections"`
	Sessions    map[string]int `json:"sessions"`
	UpdatedAt   time.Time      `json:"updated_at"`
}

// Tracker counts open sessions by kind and writes the status file on each change (atomically: rename).
type Tracker struct {
	mu   sync.Mutex
	path string
	st   Status
}

func NewTracker(path string) *Tracker {
	t := &Tracker{path: path, st: Status{Version: Version, StartedAt: time.Now().UTC(), Sessions: map[string]int{
		KindShell: 0, KindExec: 0, KindSftp: 0, KindForward: 0,
	}}}
	t.write()
	return t
}

// Open counts one session of kind; the function it returns closes it (once).
func (t *Tracker) Open(kind string) func() {
	t.add(kind, 1)
	var once sync.Once
	return func() { once.Do(func() { t.add(kind, -1) }) }
}

// Conn counts one SSH connection.
func (t *Tracker) Conn() func() {
	t.add("", 1)
	var once sync.Once
	return func() { once.Do(func() { t.add("", -1) }) }
}

func (t *Tracker) add(kind string, d int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if kind == "" {
		t.st.Connections += d
	} else {
		t.st.Sessions[kind] += d
	}
	t.write()
}

// Snapshot is the current status.
func (t *Tracker) Snapshot() Status {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.st
	s.Sessions = map[string]int{}
	for k, v := range t.st.Sessions {
		s.Sessions[k] = v
	}
	return s
}

func (t *Tracker) write() {
	if t.path == "" {
		return
	}
	t.st.UpdatedAt = time.Now().UTC()
	b, _ := json.Marshal(t.st)
	tmp := filepath.Join(filepath.Dir(t.path), "."+filepath.Base(t.path)+".tmp")
	if os.WriteFile(tmp, b, 0o644) == nil {
		_ = os.Rename(tmp, t.path)
	}
}
