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
var ErrConfig = errors.New("invalid etcd witness config")

// Defaults.
const (
	DefaultTTL         = time.Second
	DefaultDialTimeout = 2 * time.Second
	minMargin          = 150 * time.Millisecond
)

// Config is the plugin's `config {}` block as the host sends it (JSON).
type Config struct {
	Endpoints    []string      `json:"endpoints"`
	Prefix       string        `json:"prefix"`
	TTL          *sdk.Duration `json:"ttl"`
	Node         string        `json:"node"`
	Margin       *sdk.Duration `json:"margin"`
	DialTimeout  *sdk.Duration `json:"dial_timeout"`
	Username     string        `json:"username"`
	PasswordFile string        `json:"password_file"`
	TLS          *TLSConfig    `json:"tls"`
}

// TLSConfig is the optional `tls {}` block.
type TLSConfig struct {
	CAFile     string `json:"ca_file"`
	CertFile   string `json:"cert_file"`
	KeyFile    string `json:"key_file"`
	ServerName string `json:"server_name"`
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
func Schema() sdk.Schema {
	return sdk.Schema{
		Attributes: []sdk.Attribute{
			{Name: "endpoints", Type: sdk.TypeListString, Required: true,
				Description: "etcd client URLs, such as \"http://198.51.100.31:2379\""},
			{Name: "prefix", Type: sdk.TypeString, Required: true,
				Description: "key prefix of this site's rights; an instance's right is PREFIX/INSTANCE"},
			{Name: "ttl", Type: sdk.TypeDuration, Default: "1s",
				Description: "lease TTL (whole seconds): how long a crashed master's right outlives it"},
			{Name: "node", Type: sdk.TypeString,
				Description: "this node's name, written as the key's value; default the host name"},
			{Name: "margin", Type: sdk.TypeDuration,
				Description: "how much earlier than the lease can expire a master gives up its VIPs; default max(ttl/4, 150ms)"},
			{Name: "dial_timeout", Type: sdk.TypeDuration, Default: "2s",
				Description: "bound of one connection attempt"},
			{Name: "username", Type: sdk.TypeString, Description: "etcd user (with password_file)"},
			{Name: "password_file", Type: sdk.TypeString, Description: "file holding the etcd user's password"},
		},
		Blocks: []sdk.BlockSchema{{
			Name: "tls",
			Schema: sdk.Schema{Attributes: []sdk.Attribute{
				{Name: "ca_file", Type: sdk.TypeString, Description: "CA bundle that signs the etcd servers' certificates"},
				{Name: "cert_file", Type: sdk.TypeString, Description: "client certificate (with key_file)"},
				{Name: "key_file", Type: sdk.TypeString, Description: "client key"},
				{Name: "server_name", Type: sdk.TypeString, Description: "name to verify the servers' certificates against"},
			}},
		}},
	}
}
