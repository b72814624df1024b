package agent

import (
	"os"
	"os/signal"
	"syscall"
)

// CatchSignals keeps the agent alive through SIGHUP and SIGPIPE by catching them, never by ignoring them: an ignored
// signal stays ignored across exec, so every session's commands would outlive a dropped connection (its SIGHUP)
// and `yes | head` would never end (SIGPIPE). Caught ones are reset to their defaults in each child.
func CatchSignals() {
	c := make(chan os.Signal, 8)
	signal.Notify(c, syscall.SIGHUP, syscall.SIGPIPE)
	go func() {
		for range c {
		}
	}()
}
