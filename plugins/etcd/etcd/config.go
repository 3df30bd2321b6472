// Package etcd is the logic of the hawatch "etcd" witness plugin: the right
// to own an instance's VIPs is the key PREFIX/INSTANCE, created only if
// absent (or already this node's) in one transaction, bound to a lease of
// ttl that the plugin keeps alive while the host wants the right, and
// revoked when it no longer does (a graceful stop, a demote, a release).
package etcd

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/hawatch/hawatch/sdk"
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = sdk.ErrInvalidConfig

// Defaults.
const (
	DefaultTTL         = time.Second
	DefaultDialTimeout = 2 * time.Second
	minMargin          = 150 * time.Millisecond
)

// Config is the plugin's `config {}` block; its tags are the schema.
type Config struct {
	Endpoints    []string      `hawatch:"endpoints,required,nonempty" doc:"etcd client URLs, such as \"http://198.51.100.31:2379\""`
	Prefix       string        `hawatch:"prefix,required,nonempty" doc:"key prefix of this site's rights; an instance's right is PREFIX/INSTANCE"`
	TTL          *sdk.Duration `hawatch:"ttl" default:"1s" doc:"lease TTL (whole seconds): how long a crashed master's right outlives it"`
	Node         string        `hawatch:"node" doc:"this node's name, written as the key's value; default the host name"`
	Margin       *sdk.Duration `hawatch:"margin" doc:"how much earlier than the lease can expire a master gives up its VIPs; default max(ttl/4, 150ms)"`
	DialTimeout  *sdk.Duration `hawatch:"dial_timeout" default:"2s" doc:"bound of one connection attempt"`
	Username     string        `hawatch:"username" doc:"etcd user (with password_file)"`
	PasswordFile string        `hawatch:"password_file,requires=username" doc:"file holding the etcd user's password"`
	TLS          *TLSConfig    `hawatch:"tls"`

	s *settings // derived by Validate
}

// Validate derives the witness's settings (called by the SDK after decoding).
func (c *Config) Validate() (err error) {
	c.s, err = c.settings()
	return err
}

// TLSConfig is the optional `tls {}` block.
type TLSConfig struct {
	CAFile     string `hawatch:"ca_file" doc:"CA bundle that signs the etcd servers' certificates"`
	CertFile   string `hawatch:"cert_file,requires=key_file" doc:"client certificate (with key_file)"`
	KeyFile    string `hawatch:"key_file,requires=cert_file" doc:"client key"`
	ServerName string `hawatch:"server_name" doc:"name to verify the servers' certificates against"`
}

// settings is a validated Config.
type settings struct {
	endpoints   []string
	prefix      string
	ttl         time.Duration
	margin      time.Duration
	node        string
	dialTimeout time.Duration
	username    string
	password    string
	tls         *tls.Config
}

// refresh is how often a held lease is kept alive: four times per ttl, so
// one lost or slow round trip still leaves half the validity.
func (s *settings) refresh() time.Duration { return s.ttl / 4 }

// key is the etcd key of an instance's right.
func (s *settings) key(instance string) string { return s.prefix + "/" + instance }

func (c Config) settings() (*settings, error) {
	bad := func(format string, a ...any) error { return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, a...)) }
	if len(c.Endpoints) == 0 {
		return nil, bad("endpoints: at least one etcd endpoint is required")
	}
	for _, e := range c.Endpoints {
		u, err := url.Parse(e)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, bad("endpoint %q: want http://host:port or https://host:port", e)
		}
	}
	if !strings.HasPrefix(c.Prefix, "/") || strings.HasSuffix(c.Prefix, "/") || len(c.Prefix) < 2 {
		return nil, bad("prefix %q: want an absolute key prefix without a trailing slash, such as \"/hawatch/site-a\"", c.Prefix)
	}
	s := &settings{endpoints: c.Endpoints, prefix: c.Prefix, ttl: DefaultTTL, dialTimeout: DefaultDialTimeout,
		node: c.Node, username: c.Username}
	if c.TTL != nil {
		s.ttl = time.Duration(*c.TTL)
	}
	// etcd leases count whole seconds.
	if s.ttl < time.Second || s.ttl%time.Second != 0 {
		return nil, bad("ttl %s: etcd leases take whole seconds, at least 1s", s.ttl)
	}
	s.margin = max(s.ttl/4, minMargin)
	if c.Margin != nil {
		s.margin = time.Duration(*c.Margin)
	}
	if s.margin < minMargin || s.margin >= s.ttl/2 {
		return nil, bad("margin %s: want at least %s and under half the ttl (%s)", s.margin, minMargin, s.ttl/2)
	}
	if c.DialTimeout != nil {
		s.dialTimeout = time.Duration(*c.DialTimeout)
	}
	if s.node == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			return nil, bad("node: not set and the host name is unknown (%v)", err)
		}
		s.node = h
	}
	if c.PasswordFile != "" {
		if c.Username == "" {
			return nil, bad("password_file without username")
		}
		b, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return nil, bad("password_file: %v", err)
		}
		s.password = strings.TrimRight(string(b), "\r\n")
	}
	if c.TLS != nil {
		t, err := c.TLS.config()
		if err != nil {
			return nil, bad("tls: %v", err)
		}
		s.tls = t
	}
	return s, nil
}

func (t *TLSConfig) config() (*tls.Config, error) {
	out := &tls.Config{ServerName: t.ServerName, MinVersion: tls.VersionTLS12}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, err
		}
		out.RootCAs = x509.NewCertPool()
		if !out.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no certificate", t.CAFile)
		}
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, errors.New("cert_file and key_file go together")
	}
	if t.CertFile != "" {
		c, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, err
		}
		out.Certificates = []tls.Certificate{c}
	}
	return out, nil
}

// Schema is the declared `config {}` block.
func Schema() sdk.Schema { return sdk.SchemaOf[Config]() }
