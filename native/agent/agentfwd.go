package agent

import (
	"net"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"
)

// agentForward (ssh -A): a socket in a private directory; each connection to it is an auth-agent@openssh.com
// channel back to the client's agent. SSH_AUTH_SOCK points at it in the session.
func (s *session) agentForward() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.agentL != nil {
		return true
	}
	dir, err := os.MkdirTemp("", "ssh-agent-")
	if err != nil {
		return false
	}
	l, err := net.Listen("unix", filepath.Join(dir, "agent.sock"))
	if err != nil {
		_ = os.RemoveAll(dir)
		return false
	}
	s.agentL = l
	conn := s.cs.conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				ch, reqs, err := conn.OpenChannel("auth-agent@openssh.com", nil)
				if err != nil {
					_ = c.Close()
					return
				}
				go ssh.DiscardRequests(reqs)
				pipe(ch, c)
			}()
		}
	}()
	return true
}
