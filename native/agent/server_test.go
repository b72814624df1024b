package agent

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// statusSigner is the gateway's key in every test agent's status_keys.
var statusSigner = func() ssh.Signer {
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	s, _ := ssh.NewSignerFromKey(k)
	return s
}()

// startAgent serves on 127.0.0.1 as the current user, with a fresh host key and one authorized client key.
func startAgent(t *testing.T) (addr string, client *ssh.ClientConfig, tr *Tracker) {
	t.Helper()
	return startAgentShell(t, "/bin/sh")
}

// startAgentShell: the login user's shell is `shell` (busybox's sh, as in a busybox-only image).
func startAgentShell(t *testing.T, shell string) (addr string, client *ssh.ClientConfig, tr *Tracker) {
	t.Helper()
	// Not t.TempDir(): the status file is rewritten when connections close, after the test's own cleanup.
	dir, _ := os.MkdirTemp("", "hangar-agent-test-")
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	_, hostPriv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKey(hostPriv, "")
	if err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(dir, "host"), pem.EncodeToMemory(block), 0o600)
	_, cPriv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(cPriv)
	_ = os.WriteFile(filepath.Join(dir, "keys"), ssh.MarshalAuthorizedKey(signer.PublicKey()), 0o644)
	u, _ := user.Current()
	cfg := &Config{User: u.Username, HostKey: filepath.Join(dir, "host"), AuthorizedKeys: filepath.Join(dir, "keys"),
		Env: map[string]string{"HANGAR_TEST": "from-config"}, StatusFile: filepath.Join(dir, "status.json"),
		StatusKeys: []string{string(ssh.MarshalAuthorizedKey(statusSigner.PublicKey()))}}
	login, err := LookupLogin(u.Username)
	if err != nil {
		t.Fatal(err)
	}
	login.Shell, login.Dir = shell, dir
	srv, err := NewServer(cfg, login, log.New(io.Discard, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	t.Cleanup(func() { _ = l.Close() })
	tr = NewTracker(cfg.StatusFile)
	go func() { _ = srv.Serve(l, tr) }()
	return l.Addr().String(), &ssh.ClientConfig{User: u.Username, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey()}, tr
}

func dial(t *testing.T) (*ssh.Client, *Tracker) {
	addr, cc, tr := startAgent(t)
	c, err := ssh.Dial("tcp", addr, cc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, tr
}

func TestExecExitStatusAndEnv(t *testing.T) {
	c, _ := dial(t)
	s, _ := c.NewSession()
	if err := s.Setenv("FROM_CLIENT", "yes"); err != nil {
		t.Fatal(err)
	}
	out, err := s.CombinedOutput(`echo "$HANGAR_TEST $FROM_CLIENT"; exit 7`)
	var ee *ssh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != 7 {
		t.Fatalf("want exit 7, got %v", err)
	}
	if strings.TrimSpace(string(out)) != "from-config yes" {
		t.Fatalf("env: %q", out)
	}
}

func TestOtherUserAndKeyRefused(t *testing.T) {
	addr, cc, _ := startAgent(t)
	other := *cc
	other.User = "somebody-else"
	if _, err := ssh.Dial("tcp", addr, &other); err == nil {
		t.Fatal("another user name logged in")
	}
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(k)
	cc.Auth = []ssh.AuthMethod{ssh.PublicKeys(signer)}
	if _, err := ssh.Dial("tcp", addr, cc); err == nil {
		t.Fatal("an unlisted key logged in")
	}
}

func TestPtyWindowChange(t *testing.T) {
	c, _ := dial(t)
	s, _ := c.NewSession()
	if err := s.RequestPty("xterm", 24, 80, ssh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	out, err := s.Output("stty size")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(out)) != "24 80" {
		t.Fatalf("stty size: %q", out)
	}
}

func TestSftpAndStatus(t *testing.T) {
	c, tr := dial(t)
	sc, err := sftp.NewClient(c)
	if err != nil {
		t.Fatal(err)
	}
	if n := tr.Snapshot().Sessions[KindSftp]; n != 1 {
		t.Fatalf("sftp sessions: %d", n)
	}
	p := filepath.Join(t.TempDir(), "f")
	f, _ := sc.Create(p)
	_, _ = f.Write([]byte("hello"))
	_ = f.Close()
	b, _ := os.ReadFile(p)
	if string(b) != "hello" {
		t.Fatalf("sftp wrote %q", b)
	}
	_ = sc.Close()
}

func TestDirectTCPIPAndRemoteForward(t *testing.T) {
	c, _ := dial(t)
	echo, _ := net.Listen("tcp", "127.0.0.1:0")
	defer echo.Close()
	go func() {
		for {
			k, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(k, k); _ = k.Close() }()
		}
	}()
	conn, err := c.Dial("tcp", echo.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_, _ = conn.Write([]byte("ping"))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("direct-tcpip: %q %v", buf, err)
	}
	_ = conn.Close()
	rl, err := c.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		k, err := rl.Accept()
		if err == nil {
			_, _ = k.Write([]byte("pong"))
			_ = k.Close()
		}
	}()
	k, err := net.Dial("tcp", rl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(k)
	if string(b) != "pong" {
		t.Fatalf("tcpip-forward: %q", b)
	}
}
