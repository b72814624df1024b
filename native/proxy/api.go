package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// APIError is an HTTP error of the gateway's API (common/client.ts ApiError); Status 0: unreachable.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string { return e.Message }

// Exit codes of the Node CLI (cli/errors.ts EXIT) for the errors the proxy can meet.
const (
	ExitError       = 1
	ExitUsage       = 2
	ExitAuth        = 3
	ExitNotFound    = 4
	ExitConflict    = 5
	ExitUnavailable = 6
)

// ExitCode maps an error as cli/errors.ts exitCodeFor does.
func ExitCode(err error) int {
	var u *UsageError
	if errors.As(err, &u) {
		return ExitUsage
	}
	var a *APIError
	if !errors.As(err, &a) {
		return ExitError
	}
	switch {
	case a.Status == 400:
		return ExitUsage
	case a.Status == 401 || a.Status == 403:
		return ExitAuth
	case a.Status == 404:
		return ExitNotFound
	case a.Status == 409:
		return ExitConflict
	case a.Status == 503 || a.Status == 0:
		return ExitUnavailable
	}
	return ExitError
}

// UsageError: bad flags or arguments (exit 2).
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Environment is the part of the env the proxy reads.
type Environment struct {
	Name            string  `json:"name"`
	Status          string  `json:"status"`
	LifecyclePolicy string  `json:"lifecycle_policy"`
	HostKey         *string `json:"host_key"`
}

// Client talks to one gateway; for https:// every connection passes the trust check.
type Client struct {
	G      *Gateway
	Agent  string
	base   *url.URL
	dialer net.Dialer
	http   *http.Client
}

// NewClient checks the URL and builds the HTTP client.
func NewClient(g *Gateway, agent string) (*Client, error) {
	u, err := url.Parse(g.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &UsageError{Msg: "not a gateway URL: " + g.URL}
	}
	c := &Client{G: g, Agent: agent, base: u, dialer: net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}}
	tr := &http.Transport{DialContext: c.dialer.DialContext, ForceAttemptHTTP2: false, Proxy: nil}
	if u.Scheme == "https" {
		if tr.TLSClientConfig, err = g.TLSConfig(u.Hostname()); err != nil {
			return nil, err
		}
	}
	c.http = &http.Client{Transport: tr, Timeout: 60 * time.Second}
	return c, nil
}

func errorFrom(status int, body []byte, fallback string) *APIError {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
		return &APIError{Status: status, Message: e.Error.Message}
	}
	return &APIError{Status: status, Message: fallback}
}

// GetEnvironment is GET /api/v1/environments/:idOrName.
func (c *Client) GetEnvironment(ctx context.Context, idOrName string) (*Environment, error) {
	path := "/api/v1/environments/" + url.PathEscape(idOrName)
	req, err := http.NewRequestWithContext(ctx, "GET", c.G.URL+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("accept", "application/json")
	req.Header.Set("x-hangar-client", c.Agent)
	if c.G.Token != "" {
		req.Header.Set("authorization", "Bearer "+c.G.Token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) && isTrustError(ue.Err) {
			return nil, ue.Err
		}
		return nil, &APIError{Status: 0, Message: fmt.Sprintf("gateway %s is unreachable: %v", c.G.URL, unwrapURL(err))}
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode >= 300 {
		return nil, errorFrom(res.StatusCode, body, fmt.Sprintf("GET %s: HTTP %d", path, res.StatusCode))
	}
	var e Environment
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, fmt.Errorf("GET %s: %v", path, err)
	}
	return &e, nil
}

func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// isTrustError: a refused certificate says what to check; it is not "unreachable".
func isTrustError(err error) bool {
	var t *TrustError
	return errors.As(err, &t)
}
