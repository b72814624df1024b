// hangar-agent: the SSH server Hangar puts into environments whose image has none (ssh_server: agent).
//
//	hangar-agent serve --config /.hangar/agent.json   serve SSH as the login user (drops root after binding)
//	hangar-agent status --config /.hangar/agent.json  print the open sessions by kind (JSON)
//	hangar-agent install TARGET                         copy itself to TARGET (+ TARGET.version): the init container
//	hangar-agent version
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"

	"hangar.dev/native/agent"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: hangar-agent serve|status|version [--config FILE]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	cfgPath := fs.String("config", "/.hangar/agent.json", "the agent's config file")
	_ = fs.Parse(os.Args[2:])
	switch os.Args[1] {
	case "version":
		fmt.Println(agent.Version)
	case "install":
		// The Kubernetes init container: copy this very binary (from the agent image) into the shared emptyDir.
		if fs.NArg() != 1 {
			log.Fatal("usage: hangar-agent install TARGET")
		}
		if err := install(fs.Arg(0)); err != nil {
			log.Fatalf("hangar-agent install: %v", err)
		}
	case "status":
		cfg, err := agent.LoadConfig(*cfgPath)
		if err != nil {
			log.Fatal(err)
		}
		b, err := os.ReadFile(cfg.StatusFile)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(string(b))
	case "serve":
		if err := serve(*cfgPath); err != nil {
			log.Fatalf("hangar-agent: %v", err)
		}
	default:
		fmt.Fprintln(os.Stderr, "unknown command", os.Args[1])
		os.Exit(2)
	}
}

func serve(cfgPath string) error {
	cfg, err := agent.LoadConfig(cfgPath)
	if err != nil {
		return err
	}
	login, err := agent.LookupLogin(cfg.User)
	if err != nil {
		return err
	}
	logger := log.New(os.Stderr, "hangar-agent: ", log.LstdFlags)
	srv, err := agent.NewServer(cfg, login, logger)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	// Bound (port 22 may need root): from here on the whole agent is the login user.
	if err := agent.DropTo(login); err != nil {
		return err
	}
	agent.CatchSignals()
	logger.Printf("version %s serving SSH on %s for %s (uid %d)", agent.Version, l.Addr(), login.Name, os.Getuid())
	return srv.Serve(l, agent.NewTracker(cfg.StatusFile))
}

func install(target string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	b, err := os.ReadFile(self)
	if err != nil {
		return err
	}
	if err := os.WriteFile(target+".tmp", b, 0o755); err != nil {
		return err
	}
	if err := os.Rename(target+".tmp", target); err != nil {
		return err
	}
	return os.WriteFile(target+".version", []byte(agent.Version+"\n"), 0o644)
}
