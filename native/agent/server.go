package agent

import (
	"bytes"
	"fmt"
	"log"
	"net"
	"os"
	"sync"

	"golang.org/x/crypto/ssh"
)

// Server is one agent: the env's host key, its login user, its open sessions.
type Server struct {
	cfg     *Config
	login   *Login
	ssh     *ssh.ServerConfig
	tracker *Tracker
	log     *log.Logger
}

// NewServer reads the host key (before any privilege drop: it may be root's alone).
func NewServer(cfg *Config, login *Login, logger *log.Logger) (*Server, error) {
	keyPEM, err := os.ReadFile(cfg.HostKey)
	if err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("host key %s: %w", cfg.HostKey, err)
	}
	s := &Server{cfg: cfg, login: login, log: logger}
	s.ssh = &ssh.ServerConfig{
		PublicKeyCallback: s.checkKey,
		ServerVersion:     "SSH-2.0-HangarAgent_" + Version,
	}
	s.ssh.AddHostKey(signer)
	return s, nil
}

// checkKey accepts the login user with a key listed in authorized_keys, read again at every attempt (the gateway
// rewrites the file when the owner's keys change).
func (s *Server) checkKey(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	if meta.User() == StatusUser {
		return s.checkStatusKey(key)
	}
	if meta.User() != s.login.Name {
		return nil, fmt.Errorf("user %q is not the login user", meta.User())
	}
	b, err := os.ReadFile(s.cfg.AuthorizedKeys)
	if err != nil {
		return nil, fmt.Errorf("authorized keys: %w", err)
	}
	want := key.Marshal()
	for len(b) > 0 {
		k, _, _, rest, err := ssh.ParseAuthorizedKey(b)
		if err != nil {
			break
		}
		if bytes.Equal(k.Marshal(), want) {
			return &ssh.Permissions{}, nil
		}
		b = rest
	}
	return nil, fmt.Errorf("key not authorized")
}

// checkStatusKey accepts one of the gateway's keys for the status probe (marked, so the connection gets nothing else).
func (s *Server) checkStatusKey(key ssh.PublicKey) (*ssh.Permissions, error) {
	want := key.Marshal()
	for _, line := range s.cfg.StatusKeys {
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err == nil && bytes.Equal(k.Marshal(), want) {
			return &ssh.Permissions{Extensions: map[string]string{roleExt: roleStatus}}, nil
		}
	}
	return nil, fmt.Errorf("key not authorized for the status")
}

const (
	roleExt    = "hangar-role"
	roleStatus = "status"
)

// Serve accepts connections on l until it is closed.
func (s *Server) Serve(l net.Listener, tracker *Tracker) error {
	s.tracker = tracker
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		go s.handle(c)
	}
}

func (s *Server) handle(c net.Conn) {
	defer c.Close()
	sc, chans, reqs, err := ssh.NewServerConn(c, s.ssh)
	if err != nil {
		s.log.Printf("connection from %s closed before login: %v", c.RemoteAddr(), err)
		return
	}
	defer sc.Close()
	if sc.Permissions.Extensions[roleExt] == roleStatus {
		// The gateway's probe: not a login, not counted, and nothing but the status.
		s.serveStatus(chans, reqs)
		return
	}
	// The env's log says who logged in, as sshd's "Accepted publickey for" does.
	s.log.Printf("Accepted publickey for %s from %s", sc.User(), sc.RemoteAddr())
	done := s.tracker.Conn()
	defer done()
	cs := &connState{srv: s, conn: sc, forwards: map[string]net.Listener{}}
	defer cs.closeForwards()
	go cs.globalRequests(reqs)
	var wg sync.WaitGroup
	for nc := range chans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cs.channel(nc)
		}()
	}
	wg.Wait()
}

// connState is one SSH connection: its remote forwards (ssh -R) live as long as it does.
type connState struct {
	srv      *Server
	conn     *ssh.ServerConn
	mu       sync.Mutex
	forwards map[string]net.Listener
}

func (cs *connState) channel(nc ssh.NewChannel) {
	switch nc.ChannelType() {
	case "session":
		cs.session(nc)
	case "direct-tcpip":
		cs.directTCPIP(nc)
	case "direct-streamlocal@openssh.com":
		cs.directStreamlocal(nc)
	default:
		_ = nc.Reject(ssh.UnknownChannelType, "unsupported channel type "+nc.ChannelType())
	}
}

func (cs *connState) globalRequests(reqs <-chan *ssh.Request) {
	for r := range reqs {
		switch r.Type {
		case "tcpip-forward":
			cs.tcpipForward(r)
		case "cancel-tcpip-forward":
			cs.cancelForward(r, false)
		case "streamlocal-forward@openssh.com":
			cs.streamlocalForward(r)
		case "cancel-streamlocal-forward@openssh.com":
			cs.cancelForward(r, true)
		default:
			if r.WantReply {
				_ = r.Reply(false, nil)
			}
		}
	}
}
