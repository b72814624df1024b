package agent

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
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

// serveStatus answers the gateway's probe: each session channel's exec "status" gets the JSON status and exit 0;
// every other channel, request and command is refused.
func (s *Server) serveStatus(chans <-chan ssh.NewChannel, reqs <-chan *ssh.Request) {
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.Prohibited, "the status login may only ask for the status")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		go s.statusChannel(ch, creqs)
	}
}

func (s *Server) statusChannel(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	for r := range reqs {
		var cmd struct{ Command string }
		ok := r.Type == "exec" && ssh.Unmarshal(r.Payload, &cmd) == nil && cmd.Command == "status"
		if r.WantReply {
			_ = r.Reply(ok, nil)
		}
		if !ok {
			continue
		}
		b, _ := json.Marshal(s.tracker.Snapshot())
		_, _ = ch.Write(append(b, '\n'))
		_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{0}))
		return
	}
}
