// Package agent is hangar-agent: the SSH server Hangar puts into an environment whose image has none.
package agent

import (
	"encoding/json"
	"fmt"
	"os"
)

// Version is set at build time (-X); the daemon compares it with the agent it would copy in.
var Version = "dev"

// Config is /.hangar/agent.json, written by the gateway with the other boot files.
type Config struct {
	// User is the login user; the only one who may log in (never root).
	User string `json:"user"`
	// Listen is host:port (":22").
	Listen string `json:"listen"`
	// HostKey and AuthorizedKeys are paths (the env's own host key, the owner's keys; the latter re-read per login).
	HostKey        string `json:"host_key"`
	AuthorizedKeys string `json:"authorized_keys"`
	// Env is set in every session (the env's env_vars), after the agent's own environment (the image's ENV).
	Env map[string]string `json:"env"`
	// StatusFile is where open sessions by kind are written (read back by `hangar-agent status`).
	StatusFile string `json:"status_file"`
	// StatusKeys are the gateway's public keys (authorized_keys lines): they log in as StatusUser and may only ask
	// for the status (no shell, no forwards), so the gateway counts sessions that never pass its tunnel.
	StatusKeys []string `json:"status_keys"`
}

// StatusUser is the SSH user name the gateway's status probe logs in as.
const StatusUser = "hangar-status"

// LoadConfig reads and checks the agent's config file.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if c.User == "" || c.User == "root" {
		return nil, fmt.Errorf("%s: user must be set and not root", path)
	}
	if c.Listen == "" {
		c.Listen = ":22"
	}
	if c.HostKey == "" || c.AuthorizedKeys == "" {
		return nil, fmt.Errorf("%s: host_key and authorized_keys are required", path)
	}
	if c.StatusFile == "" {
		c.StatusFile = "/tmp/hangar-agent-status.json"
	}
	return &c, nil
}
