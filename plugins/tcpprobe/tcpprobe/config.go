// Package tcpprobe is the logic of the hawatch "tcpprobe" check plugin: a
// TCP connect to an address, optionally followed by a send/expect exchange
// or an HTTP GET, with the latency in the result.
package tcpprobe

import (
	"fmt"
	"net"
	"strings"

	"github.com/hawatch/hawatch/sdk"
)

// DefaultHTTPStatus is the status an `http {}` probe expects by default.
const DefaultHTTPStatus = 200

// ErrConfig is wrapped by every configuration error.
var ErrConfig = sdk.ErrInvalidConfig

// Config is the plugin's `config {}` block; its tags are the schema.
type Config struct {
	Address string      `hawatch:"address,required,kind=address" doc:"host:port to connect to"`
	Send    string      `hawatch:"send,conflicts=http" doc:"bytes to write after connecting (not with http)"`
	Expect  string      `hawatch:"expect" doc:"substring that must appear in what is read back (the response body in http mode)"`
	HTTP    *HTTPConfig `hawatch:"http"`

	s *settings // derived by Validate
}

// HTTPConfig is the optional `http {}` block.
type HTTPConfig struct {
	Path   string `hawatch:"path,required" pattern:"/\\S*" doc:"path of the GET request, such as \"/healthz\""`
	Status *int   `hawatch:"status,min=100,max=599" default:"200" doc:"expected response status"`
	Host   string `hawatch:"host" doc:"Host header; default the address"`
}

// Validate derives the probe's settings (called by the SDK after decoding).
func (c *Config) Validate() (err error) {
	c.s, err = c.settings()
	return err
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
func Schema() sdk.Schema { return sdk.SchemaOf[Config]() }
