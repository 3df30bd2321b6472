// Package tcpprobe is the logic of the hawatch "tcpprobe" check plugin: a
// TCP connect to an address, optionally followed by a send/expect exchange
// or an HTTP GET, with the latency in the result.
package tcpprobe

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/hawatch/hawatch/sdk"
)

// DefaultHTTPStatus is the status an `http {}` probe expects by default.
const DefaultHTTPStatus = 200

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("invalid tcpprobe config")

// Config is the plugin's `config {}` block as the host sends it (JSON).
type Config struct {
	Address string      `json:"address"`
	Send    string      `json:"send"`
	Expect  string      `json:"expect"`
	HTTP    *HTTPConfig `json:"http"`
}

// HTTPConfig is the optional `http {}` block.
type HTTPConfig struct {
	Path   string `json:"path"`
	Status *int   `json:"status"`
	Host   string `json:"host"`
}

type settings struct {
	address string
	send    []byte
	expect  string
	http    *httpSettings
}

type httpSettings struct {
	path   string
	status int
	host   string
}

func (c Config) settings() (*settings, error) {
	if c.Address == "" {
		return nil, fmt.Errorf("%w: address is required", ErrConfig)
	}
	if _, port, err := net.SplitHostPort(c.Address); err != nil || port == "" {
		return nil, fmt.Errorf("%w: address %q: want host:port", ErrConfig, c.Address)
	}
	s := &settings{address: c.Address, expect: c.Expect}
	if c.Send != "" {
		s.send = []byte(c.Send)
	}
	if c.HTTP == nil {
		return s, nil
	}
	if c.Send != "" {
		return nil, fmt.Errorf("%w: send cannot be combined with http (the probe sends the request)", ErrConfig)
	}
	h := &httpSettings{path: c.HTTP.Path, status: DefaultHTTPStatus, host: c.HTTP.Host}
	if c.HTTP.Status != nil {
		h.status = *c.HTTP.Status
	}
	if !strings.HasPrefix(h.path, "/") || strings.ContainsAny(h.path, " \r\n") {
		return nil, fmt.Errorf("%w: http path %q: want an absolute path such as \"/healthz\"", ErrConfig, h.path)
	}
	if h.status < 100 || h.status > 599 {
		return nil, fmt.Errorf("%w: http status %d is not an HTTP status", ErrConfig, h.status)
	}
	if strings.ContainsAny(h.host, "\r\n") {
		return nil, fmt.Errorf("%w: http host %q contains a line break", ErrConfig, h.host)
	}
	if h.host == "" {
		h.host = c.Address
	}
	s.http = h
	return s, nil
}

// Schema is the declared `config {}` block.
func Schema() sdk.Schema {
	return sdk.Schema{
		Attributes: []sdk.Attribute{
			{Name: "address", Type: sdk.TypeAddress, Required: true,
				Description: "host:port to connect to"},
			{Name: "send", Type: sdk.TypeString,
				Description: "bytes to write after connecting (not with http)"},
			{Name: "expect", Type: sdk.TypeString,
				Description: "substring that must appear in what is read back (the response body in http mode)"},
		},
		Blocks: []sdk.BlockSchema{{
			Name: "http",
			Schema: sdk.Schema{Attributes: []sdk.Attribute{
				{Name: "path", Type: sdk.TypeString, Required: true, Pattern: `/[^ \r\n]*`,
					Description: "path of the GET request, such as \"/healthz\""},
				{Name: "status", Type: sdk.TypeNumber, Default: DefaultHTTPStatus, Min: sdk.Float(100), Max: sdk.Float(599),
					Description: "expected response status"},
				{Name: "host", Type: sdk.TypeString,
					Description: "Host header; default the address"},
			}},
		}},
		Rules: []sdk.Rule{{Op: sdk.RuleConflicts, Attrs: []string{"http", "send"}}},
	}
}
