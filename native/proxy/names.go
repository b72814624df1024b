package proxy

import (
	"net/url"
	"regexp"
	"strings"
)

// AliasPrefix starts every SSH alias Hangar writes: hangar.<gateway slug>--<env>.
const AliasPrefix = "hangar."

var (
	nonSlug   = regexp.MustCompile(`[^a-z0-9.]+`)
	edgeDash  = regexp.MustCompile(`^-+|-+$`)
	endSlashs = regexp.MustCompile(`/+$`)
)

// GatewaySlug: "http://127.0.0.1:7420" → "127.0.0.1-7420" (common/names.ts gatewaySlug).
func GatewaySlug(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	base := u.Hostname()
	if strings.HasPrefix(u.Host, "[") {
		base = "[" + base + "]"
	}
	if p := u.Port(); p != "" && !(u.Scheme == "http" && p == "80") && !(u.Scheme == "https" && p == "443") {
		base += "-" + p
	}
	base += endSlashs.ReplaceAllString(u.EscapedPath(), "")
	return edgeDash.ReplaceAllString(nonSlug.ReplaceAllString(strings.ToLower(base), "-"), ""), nil
}

// EnvFromAlias: the env name inside an alias; anything else as given.
func EnvFromAlias(host string) string {
	if !strings.HasPrefix(host, AliasPrefix) {
		return host
	}
	i := strings.Index(host[len(AliasPrefix):], "--")
	if i < 0 {
		return host
	}
	return host[len(AliasPrefix)+i+2:]
}

// AliasSlug: the gateway slug an alias names, or "".
func AliasSlug(target string) string {
	if !strings.HasPrefix(target, AliasPrefix) {
		return ""
	}
	rest := target[len(AliasPrefix):]
	i := strings.Index(rest, "--")
	if i < 0 {
		return ""
	}
	return rest[:i]
}
