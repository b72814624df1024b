package proxy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// PinHostKey records (replacing any older entry) the env's host key under its alias (cli/ssh.ts pinHostKey).
func PinHostKey(dir, alias, hostKey string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	file := filepath.Join(dir, "known_hosts")
	var lines []string
	if b, err := os.ReadFile(file); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if l != "" {
				lines = append(lines, l)
			}
		}
	}
	fields := strings.Fields(hostKey)
	if len(fields) > 2 {
		fields = fields[:2]
	}
	want := alias + " " + strings.Join(fields, " ")
	kept := make([]string, 0, len(lines)+1)
	has := false
	for _, l := range lines {
		if strings.SplitN(l, " ", 2)[0] == alias {
			has = has || l == want
			continue
		}
		kept = append(kept, l)
	}
	if has && len(kept) == len(lines)-1 {
		return nil
	}
	tmp := fmt.Sprintf("%s.%d.tmp", file, os.Getpid())
	if err := os.WriteFile(tmp, []byte(strings.Join(append(kept, want), "\n")+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}
