// hangar-proxy: the native `hangar proxy` (SSH ProxyCommand). It takes the Node CLI's arguments and login
// config, so a ProxyCommand can name either; one process start instead of a Node runtime's.
package main

import (
	"fmt"
	"os"

	"hangar.dev/native/proxy"
)

// version is set by scripts/build-native.sh (-X main.version=…).
var version = "dev"

func main() {
	a, err := proxy.ParseArgs(os.Args[1:])
	if err == nil && a.Version {
		fmt.Println(version)
		return
	}
	if err == nil {
		err = proxy.Proxy(a, "hangar-proxy/"+version, os.Stdin, os.Stdout, os.Stderr)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "hangar: %v\n", err)
		os.Exit(proxy.ExitCode(err))
	}
}
