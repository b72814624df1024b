// Package proxy is the native `hangar proxy`: the SSH ProxyCommand that bridges stdio to an environment's port
// through the gateway's tunnel. It reads the same login config as the Node CLI (cli/credentials.ts) with the
// same precedence, so either can stand in for the other in a ProxyCommand.
package proxy

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// GatewayLogin is one entry of config.json's "gateways" (cli/credentials.ts GatewayLogin).
type GatewayLogin struct {
	Token          string `json:"token"`
	TLSFingerprint string `json:"tls_fingerprint,omitempty"`
	CAFile         string `json:"ca_file,omitempty"`
}

// CliConfig is config.json in the CLI's config dir.
type CliConfig struct {
	Current  string                  `json:"current,omitempty"`
	Gateways map[string]GatewayLogin `json:"gateways"`
}

// Gateway is where to connect and how to trust it.
type Gateway struct {
	URL         string
	Token       string
	CAPEM       []byte // extra CAs besides the system's
	Fingerprint string // pinned SHA-256, "AB:CD:…"
}

// ConfigDir is HANGAR_CONFIG_DIR, else $XDG_CONFIG_HOME/hangar, else ~/.config/hangar (as the Node CLI).
func ConfigDir() string {
	if d := os.Getenv("HANGAR_CONFIG_DIR"); d != "" {
		return d
	}
	base := os.Getenv("XDG_CONFIG_HOME")
	if base == "" {
		home, _ := os.UserHomeDir()
		base = filepath.Join(home, ".config")
	}
	return filepath.Join(base, "hangar")
}

func readConfig(dir string) CliConfig {
	cfg := CliConfig{Gateways: map[string]GatewayLogin{}}
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil || json.Unmarshal(b, &cfg) != nil {
		return CliConfig{Gateways: map[string]GatewayLogin{}}
	}
	if cfg.Gateways == nil {
		cfg.Gateways = map[string]GatewayLogin{}
	}
	return cfg
}

// Options are the command line's gateway options (--url, --ca-file) and the alias's gateway slug.
type Options struct {
	URL, CAFile, AliasSlug string
}

var trailingSlashes = regexp.MustCompile(`/+$`)

// ResolveGateway: --url, then HANGAR_URL, then the alias's gateway, then the current login; the token from
// HANGAR_TOKEN or the login; the CA file from --ca-file, HANGAR_CA_FILE, the login; the pin from
// HANGAR_TLS_FINGERPRINT or the login (cli/credentials.ts resolveGateway).
func ResolveGateway(o Options) (*Gateway, error) {
	cfg := readConfig(ConfigDir())
	url := o.URL
	if url == "" {
		url = os.Getenv("HANGAR_URL")
	}
	if url == "" && o.AliasSlug != "" {
		for u := range cfg.Gateways {
			if s, err := GatewaySlug(u); err == nil && s == o.AliasSlug {
				url = u
				break
			}
		}
	}
	if url == "" {
		url = cfg.Current
	}
	if url == "" {
		return nil, errors.New("not logged in: run `hangar login <url>` or set HANGAR_URL and HANGAR_TOKEN")
	}
	url = trailingSlashes.ReplaceAllString(url, "")
	login := cfg.Gateways[url]
	g := &Gateway{URL: url, Token: login.Token, Fingerprint: login.TLSFingerprint}
	if t := os.Getenv("HANGAR_TOKEN"); t != "" {
		g.Token = t
	}
	if fp := os.Getenv("HANGAR_TLS_FINGERPRINT"); fp != "" {
		n, err := NormalizeFingerprint(fp)
		if err != nil {
			return nil, errors.New("HANGAR_TLS_FINGERPRINT: " + err.Error())
		}
		g.Fingerprint = n
	}
	file, from := o.CAFile, "--ca-file"
	if file == "" {
		file, from = os.Getenv("HANGAR_CA_FILE"), "HANGAR_CA_FILE"
	}
	if file == "" {
		file, from = login.CAFile, "ca_file in the CLI config"
	}
	if file != "" {
		pem, err := os.ReadFile(file)
		if err == nil && !strings.Contains(string(pem), "-----BEGIN CERTIFICATE-----") {
			err = errors.New("no PEM certificate in it")
		}
		if err != nil {
			return nil, errors.New(from + ": can't use CA file " + file + ": " + errCode(err))
		}
		g.CAPEM = pem
	}
	return g, nil
}

// errCode is the errno name Node prints (ENOENT, EACCES), else the message.
func errCode(err error) string {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "ENOENT"
	case errors.Is(err, os.ErrPermission):
		return "EACCES"
	}
	return err.Error()
}
