package agent

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func statusClient(t *testing.T, addr string) *ssh.Client {
	t.Helper()
	c, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{User: StatusUser, Auth: []ssh.AuthMethod{ssh.PublicKeys(statusSigner)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestStatusLoginReportsSessionsAndNothingElse(t *testing.T) {
	addr, cc, _ := startAgent(t)
	user, err := ssh.Dial("tcp", addr, cc)
	if err != nil {
		t.Fatal(err)
	}
	defer user.Close()
	shell, _ := user.NewSession()
	_ = shell.RequestPty("xterm", 24, 80, ssh.TerminalModes{})
	stdin, _ := shell.StdinPipe()
	if err := shell.Shell(); err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	time.Sleep(200 * time.Millisecond)
	gw := statusClient(t, addr)
	s, _ := gw.NewSession()
	out, err := s.Output("status")
	if err != nil {
		t.Fatal(err)
	}
	var st Status
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	// The probe itself is not counted: one user connection with one shell.
	if st.Sessions[KindShell] != 1 || st.Connections != 1 {
		t.Fatalf("status %+v", st)
	}
	s2, _ := gw.NewSession()
	if _, err := s2.Output("id"); err == nil {
		t.Fatal("the status login ran a command")
	}
	if _, err := gw.Dial("tcp", "127.0.0.1:1"); err == nil {
		t.Fatal("the status login opened a forward")
	}
	// The status key is no login key, and the login key is no status key.
	_, ccStatus, _ := startAgent(t)
	ccStatus.Auth = []ssh.AuthMethod{ssh.PublicKeys(statusSigner)}
	if c, err := ssh.Dial("tcp", addr, ccStatus); err == nil {
		c.Close()
		t.Fatal("the status key logged in as the login user")
	}
	cc.User = StatusUser
	if c, err := ssh.Dial("tcp", addr, cc); err == nil {
		c.Close()
		t.Fatal("a login key logged in as the status user")
	}
}

func TestSignalReachesTheCommand(t *testing.T) {
	c, _ := dial(t)
	s, _ := c.NewSession()
	if err := s.Start("sleep 30"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if err := s.Signal(ssh.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var ee *ssh.ExitError
	if err := s.Wait(); !errors.As(err, &ee) || ee.Signal() != "TERM" {
		t.Fatalf("wait: %v", err)
	}
}

func TestStreamlocalBothWays(t *testing.T) {
	c, _ := dial(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "in.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		k, err := l.Accept()
		if err == nil {
			_, _ = k.Write([]byte("from-unix"))
			_ = k.Close()
		}
	}()
	conn, err := c.Dial("unix", sock) // direct-streamlocal@openssh.com (ssh -L local:/path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(conn)
	if string(b) != "from-unix" {
		t.Fatalf("direct-streamlocal: %q", b)
	}
	remote := filepath.Join(dir, "fwd.sock")
	rl, err := c.ListenUnix(remote) // streamlocal-forward@openssh.com (ssh -R /path:...)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		k, err := rl.Accept()
		if err == nil {
			_, _ = k.Write([]byte("back"))
			_ = k.Close()
		}
	}()
	k, err := net.Dial("unix", remote)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(k)
	if strings.TrimSpace(string(b)) != "back" {
		t.Fatalf("streamlocal-forward: %q", b)
	}
}

func TestDroppedConnectionEndsItsSessions(t *testing.T) {
	addr, cc, tr := startAgent(t)
	c, err := ssh.Dial("tcp", addr, cc)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := c.NewSession()
	if err := s.Start("sleep 120"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if n := tr.Snapshot().Sessions[KindExec]; n != 1 {
		t.Fatalf("exec sessions: %d", n)
	}
	_ = c.Close()
	for i := 0; i < 50 && tr.Snapshot().Sessions[KindExec] > 0; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if st := tr.Snapshot(); st.Sessions[KindExec] != 0 || st.Connections != 0 {
		t.Fatalf("after the client went: %+v", st)
	}
}

func TestSessionsIgnoreNoSignals(t *testing.T) {
	CatchSignals()
	c, _ := dial(t)
	s, _ := c.NewSession()
	out, err := s.Output("grep SigIgn /proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	if f := strings.Fields(string(out)); len(f) != 2 || strings.Trim(f[1], "0") != "" {
		t.Fatalf("the session's command ignores signals: %q", out)
	}
}
