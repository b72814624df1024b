package agent

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/creack/pty"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// session is one "session" channel: env and pty requests first, then one of shell, exec or subsystem.
type session struct {
	cs      *connState
	ch      ssh.Channel
	env     []string
	ptyReq  *ptyRequest
	tty     *os.File
	mu      sync.Mutex
	cmd     *exec.Cmd
	started bool
	agentL  net.Listener
}

type ptyRequest struct {
	Term          string
	Cols, Rows    uint32
	Width, Height uint32
	Modes         string
}

func (cs *connState) session(nc ssh.NewChannel) {
	ch, reqs, err := nc.Accept()
	if err != nil {
		return
	}
	s := &session{cs: cs, ch: ch}
	defer s.cleanup()
	for r := range reqs {
		ok := s.request(r)
		if r.WantReply {
			_ = r.Reply(ok, nil)
		}
	}
}

func (s *session) request(r *ssh.Request) bool {
	switch r.Type {
	case "env":
		var kv struct{ Name, Value string }
		if ssh.Unmarshal(r.Payload, &kv) != nil {
			return false
		}
		// The session runs as the login user, who can set any variable in their own shell anyway.
		s.env = append(s.env, kv.Name+"="+kv.Value)
		return true
	case "pty-req":
		var p ptyRequest
		if ssh.Unmarshal(r.Payload, &p) != nil {
			return false
		}
		s.ptyReq = &p
		return true
	case "window-change":
		var w struct{ Cols, Rows, Width, Height uint32 }
		if ssh.Unmarshal(r.Payload, &w) != nil {
			return false
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.ptyReq != nil {
			s.ptyReq.Cols, s.ptyReq.Rows = w.Cols, w.Rows
		}
		if s.tty != nil {
			_ = pty.Setsize(s.tty, &pty.Winsize{Cols: uint16(w.Cols), Rows: uint16(w.Rows)})
		}
		return true
	case "signal":
		var sig struct{ Name string }
		if ssh.Unmarshal(r.Payload, &sig) != nil {
			return false
		}
		return s.signal(sig.Name)
	case "auth-agent-req@openssh.com":
		return s.agentForward()
	case "shell", "exec", "subsystem":
		return s.start(r)
	}
	return false
}

func (s *session) start(r *ssh.Request) bool {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return false
	}
	s.started = true
	s.mu.Unlock()
	switch r.Type {
	case "subsystem":
		var p struct{ Name string }
		if ssh.Unmarshal(r.Payload, &p) != nil || p.Name != "sftp" {
			return false
		}
		go s.sftp()
		return true
	case "exec":
		var p struct{ Command string }
		if ssh.Unmarshal(r.Payload, &p) != nil {
			return false
		}
		return s.run(KindExec, p.Command)
	default:
		return s.run(KindShell, "")
	}
}

func (s *session) sftp() {
	defer s.cs.srv.tracker.Open(KindSftp)()
	srv, err := sftp.NewServer(s.ch, sftp.WithServerWorkingDirectory(s.cs.srv.login.Home))
	if err == nil {
		// Serve ends at the client's EOF; exit-status goes out before the channel closes (scp checks it).
		_ = srv.Serve()
	}
	s.exit(0, "")
}

// command: a login shell for "shell", `shell -c cmd` for exec (as sshd does), in the session's directory.
func (s *session) command(cmdline string) *exec.Cmd {
	l := s.cs.srv.login
	var c *exec.Cmd
	if cmdline == "" {
		c = &exec.Cmd{Path: l.Shell, Args: []string{loginArgv0(l.Shell)}}
	} else {
		c = &exec.Cmd{Path: l.Shell, Args: []string{filepath.Base(l.Shell), "-c", cmdline}}
	}
	extra := append([]string{}, s.env...)
	ra := s.cs.conn.RemoteAddr().String()
	la := s.cs.conn.LocalAddr().String()
	rh, rp, _ := net.SplitHostPort(ra)
	lh, lp, _ := net.SplitHostPort(la)
	extra = append(extra, fmt.Sprintf("SSH_CONNECTION=%s %s %s %s", rh, rp, lh, lp), fmt.Sprintf("SSH_CLIENT=%s %s %s", rh, rp, lp))
	if s.agentL != nil {
		extra = append(extra, "SSH_AUTH_SOCK="+s.agentL.Addr().String())
	}
	if s.ptyReq != nil {
		extra = append(extra, "TERM="+s.ptyReq.Term)
	}
	c.Env = sessionEnv(l, s.cs.srv.cfg.Env, extra)
	c.Dir = l.Dir
	if _, err := os.Stat(c.Dir); err != nil {
		c.Dir = "/"
	}
	return c
}

func (s *session) run(kind, cmdline string) bool {
	c := s.command(cmdline)
	done := s.cs.srv.tracker.Open(kind)
	if s.ptyReq != nil {
		return s.runPty(c, done)
	}
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := c.StdinPipe()
	if err != nil {
		done()
		return false
	}
	c.Stdout, c.Stderr = s.ch, s.ch.Stderr()
	if err := c.Start(); err != nil {
		done()
		fmt.Fprintf(s.ch.Stderr(), "hangar-agent: %v\n", err)
		return false
	}
	s.setCmd(c)
	go func() {
		_, _ = io.Copy(stdin, s.ch)
		_ = stdin.Close()
	}()
	go func() {
		defer done()
		s.exitWith(c.Wait())
	}()
	return true
}

func (s *session) runPty(c *exec.Cmd, done func()) bool {
	ws := &pty.Winsize{Cols: uint16(s.ptyReq.Cols), Rows: uint16(s.ptyReq.Rows)}
	tty, err := pty.StartWithSize(c, ws)
	if err != nil {
		done()
		fmt.Fprintf(s.ch.Stderr(), "hangar-agent: %v\n", err)
		return false
	}
	s.mu.Lock()
	s.tty = tty
	s.mu.Unlock()
	s.setCmd(c)
	go func() { _, _ = io.Copy(tty, s.ch) }()
	out := make(chan struct{})
	go func() {
		_, _ = io.Copy(s.ch, tty) // ends with EIO when the last process holding the terminal exits
		close(out)
	}()
	go func() {
		defer done()
		err := c.Wait()
		<-out
		_ = tty.Close()
		s.exitWith(err)
	}()
	return true
}

func (s *session) setCmd(c *exec.Cmd) {
	s.mu.Lock()
	s.cmd = c
	s.mu.Unlock()
}

// exitWith sends exit-status (or exit-signal for a process killed by a signal) and closes the channel.
func (s *session) exitWith(err error) {
	code := 0
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				s.exit(-1, signalName(ws.Signal()))
				return
			}
			code = ee.ExitCode()
		} else {
			code = 255
		}
	}
	s.exit(code, "")
}

func (s *session) exit(code int, sig string) {
	if sig != "" {
		_, _ = s.ch.SendRequest("exit-signal", false, ssh.Marshal(struct {
			Signal     string
			CoreDumped bool
			Msg, Lang  string
		}{sig, false, "", ""}))
	} else {
		_, _ = s.ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(code)}))
	}
	_ = s.ch.CloseWrite()
	_ = s.ch.Close()
}

func (s *session) signal(name string) bool {
	sig, ok := signals[name]
	s.mu.Lock()
	c := s.cmd
	s.mu.Unlock()
	if !ok || c == nil || c.Process == nil {
		return false
	}
	// The session's process group (pty sessions lead their own session), so a pipeline gets it too.
	return syscall.Kill(-c.Process.Pid, sig) == nil || c.Process.Signal(sig) == nil
}

func (s *session) cleanup() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.agentL != nil {
		_ = s.agentL.Close()
		_ = os.RemoveAll(filepath.Dir(s.agentL.Addr().String()))
	}
	if s.cmd != nil && s.cmd.Process != nil && s.cmd.ProcessState == nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGHUP)
	}
}

var signals = map[string]syscall.Signal{
	"ABRT": syscall.SIGABRT, "ALRM": syscall.SIGALRM, "FPE": syscall.SIGFPE, "HUP": syscall.SIGHUP,
	"ILL": syscall.SIGILL, "INT": syscall.SIGINT, "KILL": syscall.SIGKILL, "PIPE": syscall.SIGPIPE,
	"QUIT": syscall.SIGQUIT, "SEGV": syscall.SIGSEGV, "TERM": syscall.SIGTERM, "USR1": syscall.SIGUSR1,
	"USR2": syscall.SIGUSR2,
}

func signalName(sig syscall.Signal) string {
	for n, s := range signals {
		if s == sig {
			return n
		}
	}
	return "KILL"
}
