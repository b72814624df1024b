package agent

import (
	"io"
	"net"
	"strconv"
	"sync"

	"golang.org/x/crypto/ssh"
)

// pipe copies both ways and closes both ends when either side is done.
func pipe(ch ssh.Channel, c net.Conn) {
	var once sync.Once
	closeBoth := func() { _ = ch.Close(); _ = c.Close() }
	go func() {
		_, _ = io.Copy(ch, c)
		_ = ch.CloseWrite()
		once.Do(closeBoth)
	}()
	_, _ = io.Copy(c, ch)
	if tc, ok := c.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
	} else {
		once.Do(closeBoth)
	}
}

// direct-tcpip: ssh -L, and what VS Code Remote-SSH uses to reach its server.
func (cs *connState) directTCPIP(nc ssh.NewChannel) {
	var p struct {
		Host     string
		Port     uint32
		OrigHost string
		OrigPort uint32
	}
	if err := ssh.Unmarshal(nc.ExtraData(), &p); err != nil {
		_ = nc.Reject(ssh.ConnectionFailed, "bad direct-tcpip request")
		return
	}
	cs.dial(nc, "tcp", net.JoinHostPort(p.Host, strconv.Itoa(int(p.Port))))
}

// direct-streamlocal@openssh.com: ssh -L to a Unix socket.
func (cs *connState) directStreamlocal(nc ssh.NewChannel) {
	var p struct {
		Path      string
		Reserved  string
		Reserved2 uint32
	}
	if err := ssh.Unmarshal(nc.ExtraData(), &p); err != nil {
		_ = nc.Reject(ssh.ConnectionFailed, "bad direct-streamlocal request")
		return
	}
	cs.dial(nc, "unix", p.Path)
}

func (cs *connState) dial(nc ssh.NewChannel, network, addr string) {
	c, err := net.Dial(network, addr)
	if err != nil {
		_ = nc.Reject(ssh.ConnectionFailed, err.Error())
		return
	}
	ch, reqs, err := nc.Accept()
	if err != nil {
		_ = c.Close()
		return
	}
	go ssh.DiscardRequests(reqs)
	defer cs.srv.tracker.Open(KindForward)()
	pipe(ch, c)
}

// tcpip-forward: ssh -R. The listener lives until cancelled or the connection ends.
func (cs *connState) tcpipForward(r *ssh.Request) {
	var p struct {
		Addr string
		Port uint32
	}
	if ssh.Unmarshal(r.Payload, &p) != nil {
		_ = r.Reply(false, nil)
		return
	}
	bind := p.Addr
	if bind == "localhost" || bind == "" {
		bind = "127.0.0.1"
	}
	l, err := net.Listen("tcp", net.JoinHostPort(bind, strconv.Itoa(int(p.Port))))
	if err != nil {
		_ = r.Reply(false, nil)
		return
	}
	port := uint32(l.Addr().(*net.TCPAddr).Port)
	key := net.JoinHostPort(p.Addr, strconv.Itoa(int(port)))
	cs.mu.Lock()
	cs.forwards[key] = l
	cs.mu.Unlock()
	var reply []byte
	if p.Port == 0 {
		reply = ssh.Marshal(struct{ Port uint32 }{port})
	}
	_ = r.Reply(true, reply)
	go cs.acceptForward(l, func(c net.Conn) (string, []byte) {
		ra, _ := c.RemoteAddr().(*net.TCPAddr)
		orig := struct {
			Addr     string
			Port     uint32
			OrigAddr string
			OrigPort uint32
		}{p.Addr, port, "", 0}
		if ra != nil {
			orig.OrigAddr, orig.OrigPort = ra.IP.String(), uint32(ra.Port)
		}
		return "forwarded-tcpip", ssh.Marshal(orig)
	})
}

// streamlocal-forward@openssh.com: ssh -R with a Unix socket inside the env.
func (cs *connState) streamlocalForward(r *ssh.Request) {
	var p struct{ Path string }
	if ssh.Unmarshal(r.Payload, &p) != nil {
		_ = r.Reply(false, nil)
		return
	}
	l, err := net.Listen("unix", p.Path)
	if err != nil {
		_ = r.Reply(false, nil)
		return
	}
	cs.mu.Lock()
	cs.forwards["unix:"+p.Path] = l
	cs.mu.Unlock()
	_ = r.Reply(true, nil)
	go cs.acceptForward(l, func(net.Conn) (string, []byte) {
		return "forwarded-streamlocal@openssh.com", ssh.Marshal(struct{ Path, Reserved string }{p.Path, ""})
	})
}

func (cs *connState) acceptForward(l net.Listener, open func(net.Conn) (string, []byte)) {
	closeForward := cs.srv.tracker.Open(KindForward)
	defer closeForward()
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			kind, payload := open(c)
			ch, reqs, err := cs.conn.OpenChannel(kind, payload)
			if err != nil {
				_ = c.Close()
				return
			}
			go ssh.DiscardRequests(reqs)
			pipe(ch, c)
		}()
	}
}

func (cs *connState) cancelForward(r *ssh.Request, unix bool) {
	var key string
	if unix {
		var p struct{ Path string }
		_ = ssh.Unmarshal(r.Payload, &p)
		key = "unix:" + p.Path
	} else {
		var p struct {
			Addr string
			Port uint32
		}
		_ = ssh.Unmarshal(r.Payload, &p)
		key = net.JoinHostPort(p.Addr, strconv.Itoa(int(p.Port)))
	}
	cs.mu.Lock()
	l, ok := cs.forwards[key]
	delete(cs.forwards, key)
	cs.mu.Unlock()
	if ok {
		_ = l.Close()
	}
	_ = r.Reply(ok, nil)
}

func (cs *connState) closeForwards() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for k, l := range cs.forwards {
		_ = l.Close()
		delete(cs.forwards, k)
	}
}
