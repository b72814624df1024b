package proxy

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
)

// Args are `hangar [--config-dir D] [--url U] [--ca-file F] proxy [--port N] [--transport raw|websocket] <env>`,
// options anywhere (as commander reads the Node CLI's).
type Args struct {
	ConfigDir, URL, CAFile, Transport, Target string
	Port                                      int
	Version                                   bool
}

// ParseArgs reads argv (without the program name).
func ParseArgs(argv []string) (*Args, error) {
	a := &Args{Port: 22, Transport: os.Getenv("HANGAR_TUNNEL")}
	if a.Transport == "" {
		a.Transport = "raw"
	}
	var pos []string
	for i := 0; i < len(argv); i++ {
		arg := argv[i]
		if arg == "--" {
			pos = append(pos, argv[i+1:]...)
			break
		}
		if arg == "-V" || arg == "--version" {
			a.Version = true
			continue
		}
		if arg == "--json" {
			continue
		}
		if !strings.HasPrefix(arg, "--") {
			pos = append(pos, arg)
			continue
		}
		name, val, has := strings.Cut(arg[2:], "=")
		if !has {
			if i+1 >= len(argv) {
				return nil, &UsageError{Msg: fmt.Sprintf("option '--%s' argument missing", name)}
			}
			i++
			val = argv[i]
		}
		switch name {
		case "config-dir":
			a.ConfigDir = val
		case "url":
			a.URL = val
		case "ca-file":
			a.CAFile = val
		case "transport":
			a.Transport = val
		case "port":
			p, err := strconv.Atoi(val)
			if err != nil || p < 1 || p > 65535 {
				return nil, &UsageError{Msg: fmt.Sprintf("--port: not a port: %q", val)}
			}
			a.Port = p
		default:
			return nil, &UsageError{Msg: fmt.Sprintf("unknown option '--%s' (this native build only runs `proxy`)", name)}
		}
	}
	if a.Version {
		return a, nil
	}
	if a.Transport != "raw" && a.Transport != "websocket" {
		return nil, &UsageError{Msg: fmt.Sprintf("--transport: %q is not one of raw, websocket", a.Transport)}
	}
	if len(pos) != 2 || pos[0] != "proxy" {
		return nil, &UsageError{Msg: "usage: hangar-proxy [--config-dir DIR] [--url URL] proxy [--port N] [--transport raw|websocket] <env>"}
	}
	a.Target = pos[1]
	return a, nil
}

// Proxy looks the env up and opens the tunnel side by side, pins the env's host key (over the authenticated API)
// before any byte reaches ssh, then bridges stdin/stdout (cli/commands/ssh.ts `proxy`).
func Proxy(a *Args, agent string, stdin io.Reader, stdout io.Writer, stderr io.Writer) error {
	if a.ConfigDir != "" {
		os.Setenv("HANGAR_CONFIG_DIR", a.ConfigDir)
	}
	g, err := ResolveGateway(Options{URL: a.URL, CAFile: a.CAFile, AliasSlug: AliasSlug(a.Target)})
	if err != nil {
		return err
	}
	c, err := NewClient(g, agent)
	if err != nil {
		return err
	}
	name := EnvFromAlias(a.Target)
	ctx := context.Background()
	var env *Environment
	var envErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		env, envErr = c.GetEnvironment(ctx, name)
		// A stopped on_demand env starts on connect: the tunnel waits for it, and we say so.
		if envErr == nil && env.LifecyclePolicy == "on_demand" && env.Status != "running" {
			fmt.Fprintf(stderr, "starting %s…\n", env.Name)
		}
	}()
	t, tErr := c.OpenTunnel(ctx, name, a.Port, a.Transport)
	<-done
	// The API's answer names the problem best (404, 401, unreachable): it wins over the tunnel's.
	if envErr != nil {
		if t != nil {
			t.Close()
		}
		return envErr
	}
	if tErr != nil {
		return tErr
	}
	defer t.Close()
	if env.HostKey != nil && *env.HostKey != "" && strings.HasPrefix(a.Target, AliasPrefix) {
		if err := PinHostKey(ConfigDir(), a.Target, *env.HostKey); err != nil {
			return err
		}
	}
	return bridge(t, stdin, stdout)
}

// bridge copies both ways with big buffers; stdin's end half-closes the tunnel, the tunnel's end ends the proxy.
func bridge(t Tunnel, stdin io.Reader, stdout io.Writer) error {
	var once sync.Once
	go func() {
		buf := make([]byte, 256<<10)
		_, _ = io.CopyBuffer(t, stdin, buf)
		once.Do(func() { _ = t.CloseWrite() })
	}()
	buf := make([]byte, 256<<10)
	_, _ = io.CopyBuffer(stdout, t, buf)
	return nil
}
