package agent

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Login is the user every session runs as.
type Login struct {
	Name  string
	UID   int
	GID   int
	Home  string
	Shell string
	// Dir is where sessions start: the image's WORKDIR (the agent's start directory) when it is one, else Home.
	Dir string
}

// LookupLogin finds name in /etc/passwd (os/user without cgo reads the file); its shell from the same line.
func LookupLogin(name string) (*Login, error) {
	u, err := user.Lookup(name)
	if err != nil && os.Getuid() != 0 {
		// No root to create the user (a restricted pod, an image's non-root USER): serve as whoever runs us.
		u, err = user.LookupId(strconv.Itoa(os.Getuid()))
		if err != nil {
			home := os.Getenv("HOME")
			if home == "" {
				home = "/tmp"
			}
			u, err = &user.User{Uid: strconv.Itoa(os.Getuid()), Gid: strconv.Itoa(os.Getgid()), HomeDir: home}, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("login user %q: %w", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	l := &Login{Name: name, UID: uid, GID: gid, Home: u.HomeDir, Shell: shellOf(name)}
	if l.Home == "" {
		l.Home = "/"
	}
	l.Dir = l.Home
	if wd, err := os.Getwd(); err == nil && wd != "/" && !strings.HasPrefix(wd, "/.hangar") {
		l.Dir = wd
	}
	return l, nil
}

// shellOf reads the login shell from /etc/passwd; /bin/sh when none is named or it is missing.
func shellOf(name string) string {
	b, _ := os.ReadFile("/etc/passwd")
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) >= 7 && f[0] == name && f[6] != "" {
			if st, err := os.Stat(f[6]); err == nil && !st.IsDir() {
				return f[6]
			}
		}
	}
	for _, s := range []string{"/bin/bash", "/bin/sh"} {
		if _, err := os.Stat(s); err == nil {
			return s
		}
	}
	return "/bin/sh"
}

// DropTo makes the whole process the login user (Go's Setuid applies to every thread since 1.16). A no-op when the
// agent already runs as that user; an error when it runs as someone else without root.
func DropTo(l *Login) error {
	if os.Getuid() == l.UID {
		return nil
	}
	if os.Getuid() != 0 {
		return fmt.Errorf("running as uid %d, cannot become %s (uid %d)", os.Getuid(), l.Name, l.UID)
	}
	groups := supplementaryGroups(l)
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setgid(l.GID); err != nil {
		return fmt.Errorf("setgid: %w", err)
	}
	if err := syscall.Setuid(l.UID); err != nil {
		return fmt.Errorf("setuid: %w", err)
	}
	return nil
}

func supplementaryGroups(l *Login) []int {
	gs := []int{l.GID}
	u, err := user.Lookup(l.Name)
	if err != nil {
		return gs
	}
	ids, _ := u.GroupIds()
	for _, id := range ids {
		if n, err := strconv.Atoi(id); err == nil && n != l.GID {
			gs = append(gs, n)
		}
	}
	return gs
}

// sessionEnv: the agent's own environment (the image's ENV: PATH, CUDA_HOME…) without the starter's identity,
// then the user's, the env's variables, and what the client asked for.
func sessionEnv(l *Login, cfgEnv map[string]string, extra []string) []string {
	drop := map[string]bool{"HOME": true, "USER": true, "LOGNAME": true, "SHELL": true, "PWD": true, "OLDPWD": true,
		"MAIL": true, "SSH_AUTH_SOCK": true, "SSH_CONNECTION": true, "SSH_CLIENT": true, "SSH_TTY": true, "TERM": true,
		"HOSTNAME": false}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			env = append(env, kv)
		}
	}
	if os.Getenv("PATH") == "" {
		env = append(env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	}
	env = append(env, "HOME="+l.Home, "USER="+l.Name, "LOGNAME="+l.Name, "SHELL="+l.Shell)
	for k, v := range cfgEnv {
		env = append(env, k+"="+v)
	}
	return append(env, extra...)
}

// loginArgv0 is "-bash" for /bin/bash: the shell reads its profile files as a login shell.
func loginArgv0(shell string) string { return "-" + filepath.Base(shell) }
