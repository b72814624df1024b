package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/coder/websocket"
)

// RawUpgrade is the Upgrade token of the gateway's framing-free tunnel (daemon/http/websocket.ts RAW_TCP).
const RawUpgrade = "hangar-tcp"

// Tunnel is the byte stream to the env's port. CloseWrite half-closes (stdin ended), where the transport can.
type Tunnel interface {
	io.ReadWriteCloser
	CloseWrite() error
}

// OpenTunnel opens GET /api/v1/environments/:env/tunnel?port=N: a raw upgrade (default) or a WebSocket.
func (c *Client) OpenTunnel(ctx context.Context, env string, port int, transport string) (Tunnel, error) {
	path := fmt.Sprintf("/api/v1/environments/%s/tunnel?port=%d", url.PathEscape(env), port)
	if transport == "websocket" {
		return c.openWebSocket(ctx, path)
	}
	return c.openRaw(ctx, path)
}

func (c *Client) dial(ctx context.Context) (net.Conn, error) {
	host := c.base.Host
	if c.base.Port() == "" {
		if c.base.Scheme == "https" {
			host = net.JoinHostPort(c.base.Hostname(), "443")
		} else {
			host = net.JoinHostPort(c.base.Hostname(), "80")
		}
	}
	conn, err := c.dialer.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	if c.base.Scheme != "https" {
		return conn, nil
	}
	cfg, err := c.G.TLSConfig(c.base.Hostname())
	if err != nil {
		conn.Close()
		return nil, err
	}
	t := tls.Client(conn, cfg)
	if err := t.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	return t, nil
}

// rawTunnel: after the 101 the connection is the env's TCP stream; bytes the reader already took come first.
type rawTunnel struct {
	net.Conn
	r *bufio.Reader
}

func (t *rawTunnel) Read(p []byte) (int, error) { return t.r.Read(p) }
func (t *rawTunnel) CloseWrite() error {
	if cw, ok := t.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *Client) openRaw(ctx context.Context, path string) (Tunnel, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	req, _ := http.NewRequest("GET", c.G.URL+path, nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", RawUpgrade)
	req.Header.Set("X-Hangar-Client", c.Agent)
	if c.G.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.G.Token)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	if err := req.Write(conn); err != nil {
		conn.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(conn, 256<<10)
	res, err := http.ReadResponse(br, req)
	if err != nil {
		conn.Close()
		if ctx.Err() != nil {
			return nil, errors.New("tunnel handshake timed out")
		}
		return nil, err
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		conn.Close()
		return nil, errorFrom(res.StatusCode, body, fmt.Sprintf("HTTP %d", res.StatusCode))
	}
	if !stop() {
		conn.Close()
		return nil, errors.New("tunnel handshake timed out")
	}
	_ = conn.SetDeadline(time.Time{})
	return &rawTunnel{Conn: conn, r: br}, nil
}

type wsTunnel struct{ net.Conn }

// CloseWrite: a WebSocket can't half-close; ssh ends the session itself, so there is nothing to do.
func (wsTunnel) CloseWrite() error { return nil }

func (c *Client) openWebSocket(ctx context.Context, path string) (Tunnel, error) {
	hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return c.dial(ctx) },
		// dial has done TLS already: the transport must treat https as plain.
		DialTLSContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return c.dial(ctx) },
	}
	h := http.Header{}
	h.Set("X-Hangar-Client", c.Agent)
	if c.G.Token != "" {
		h.Set("Authorization", "Bearer "+c.G.Token)
	}
	u := c.G.URL + path
	ws, res, err := websocket.Dial(hctx, u, &websocket.DialOptions{
		HTTPClient:      &http.Client{Transport: tr},
		HTTPHeader:      h,
		CompressionMode: websocket.CompressionDisabled, // SSH is ciphertext: deflate costs CPU, saves nothing
	})
	if err != nil {
		if res != nil && res.StatusCode != http.StatusSwitchingProtocols {
			var body []byte
			if res.Body != nil {
				body, _ = io.ReadAll(io.LimitReader(res.Body, 1<<20))
			}
			return nil, errorFrom(res.StatusCode, body, fmt.Sprintf("HTTP %d", res.StatusCode))
		}
		return nil, err
	}
	ws.SetReadLimit(-1) // the gateway's frames are as big as its reads
	return wsTunnel{websocket.NetConn(context.Background(), ws, websocket.MessageBinary)}, nil
}
