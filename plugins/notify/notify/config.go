// Package notify is the logic of the hawatch "notify" action plugin: on
// each state transition it runs a command (with keepalived's notify
// arguments), sends an email and/or posts a JSON webhook, whichever are
// configured.
package notify

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/hawatch/hawatch/sdk"
)

// Defaults for optional attributes.
const (
	DefaultGrace          = 2 * time.Second
	DefaultConnectTimeout = 30 * time.Second
	DefaultRetries        = 3
	DefaultWebhookTimeout = 5 * time.Second
	DefaultBackoff        = 200 * time.Millisecond
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = sdk.ErrInvalidConfig

// Config is the plugin's `config {}` block; its tags are the schema. Each
// block has a required attribute, so an absent block is nil.
type Config struct {
	Node    string         `hawatch:"node" doc:"this node's name in mail subjects, bodies and webhooks; default the host name"`
	Exec    *ExecConfig    `hawatch:"exec,one_required=smtp|webhook"`
	SMTP    *SMTPConfig    `hawatch:"smtp"`
	Webhook *WebhookConfig `hawatch:"webhook"`

	s *settings // derived by Validate
}

// Validate derives the sinks' settings (called by the SDK after decoding).
func (c *Config) Validate() (err error) {
	c.s, err = c.settings()
	return err
}

// ExecConfig is the `exec {}` block.
type ExecConfig struct {
	Command string   `hawatch:"command,required,nonempty" doc:"program to run (no shell); gets the args, then INSTANCE|GROUP, name, new state, priority"`
	Args    []string `hawatch:"args" default:"" doc:"arguments placed before keepalived's notify arguments"`
	Timeout Duration `hawatch:"timeout" doc:"how long the command may run; default the action's deadline"`
	Grace   Duration `hawatch:"grace" default:"2s" doc:"time between SIGTERM and SIGKILL of the command's process group on timeout"`
}

// SMTPConfig is the `smtp {}` block.
type SMTPConfig struct {
	Server         string   `hawatch:"server,required,kind=address" doc:"SMTP server host:port (plain SMTP, no TLS or auth, as keepalived)"`
	From           string   `hawatch:"from,required" doc:"envelope and header sender"`
	To             []string `hawatch:"to,required,nonempty" doc:"recipients"`
	Helo           string   `hawatch:"helo" doc:"name sent in EHLO/HELO; default node"`
	ConnectTimeout Duration `hawatch:"connect_timeout" default:"30s" doc:"bound on the TCP connect to the server"`
}

// WebhookConfig is the `webhook {}` block.
type WebhookConfig struct {
	URL     string   `hawatch:"url,required" pattern:"https?://.+" doc:"http:// or https:// URL that receives a JSON POST per transition"`
	Retries *int     `hawatch:"retries,min=0,max=100" default:"3" doc:"further attempts after a failed POST (network error, 408, 429 or 5xx)"`
	Timeout Duration `hawatch:"timeout" default:"5s" doc:"bound on each attempt"`
	Backoff Duration `hawatch:"backoff" default:"200ms" doc:"wait before the first retry; doubles after each"`
}

type settings struct {
	node    string
	exec    *execSettings
	smtp    *smtpSettings
	webhook *webhookSettings
}

type execSettings struct {
	command string
	args    []string
	timeout time.Duration // 0: the call's deadline only
	grace   time.Duration
}

type smtpSettings struct {
	server         string
	from           string
	to             []string
	helo           string
	connectTimeout time.Duration
}

type webhookSettings struct {
	url     string
	retries int
	timeout time.Duration
	backoff time.Duration
}

func (c Config) settings() (*settings, error) {
	s := &settings{node: c.Node}
	if s.node == "" {
		h, err := os.Hostname()
		if err != nil {
			h = "unknown"
		}
		s.node = h
	}
	if strings.ContainsAny(s.node, "\r\n") {
		return nil, fmt.Errorf("%w: node %q contains a line break", ErrConfig, s.node)
	}
	if c.Exec == nil && c.SMTP == nil && c.Webhook == nil {
		return nil, fmt.Errorf("%w: configure at least one of the exec, smtp and webhook blocks", ErrConfig)
	}
	var err error
	if c.Exec != nil {
		if s.exec, err = c.Exec.settings(); err != nil {
			return nil, err
		}
	}
	if c.SMTP != nil {
		if s.smtp, err = c.SMTP.settings(s.node); err != nil {
			return nil, err
		}
	}
	if c.Webhook != nil {
		if s.webhook, err = c.Webhook.settings(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (c *ExecConfig) settings() (*execSettings, error) {
	e := &execSettings{command: c.Command, args: c.Args, timeout: time.Duration(c.Timeout), grace: time.Duration(c.Grace)}
	if e.command == "" {
		return nil, fmt.Errorf("%w: exec: command is required", ErrConfig)
	}
	if e.grace == 0 {
		e.grace = DefaultGrace
	}
	if e.timeout < 0 || e.grace < 0 {
		return nil, fmt.Errorf("%w: exec: negative timeout or grace", ErrConfig)
	}
	return e, nil
}

func (c *SMTPConfig) settings(node string) (*smtpSettings, error) {
	m := &smtpSettings{server: c.Server, from: c.From, to: c.To, helo: c.Helo, connectTimeout: time.Duration(c.ConnectTimeout)}
	if _, port, err := net.SplitHostPort(m.server); err != nil || port == "" {
		return nil, fmt.Errorf("%w: smtp: server %q: want host:port", ErrConfig, m.server)
	}
	if _, err := mail.ParseAddress(m.from); err != nil {
		return nil, fmt.Errorf("%w: smtp: from %q: %w", ErrConfig, m.from, err)
	}
	if len(m.to) == 0 {
		return nil, fmt.Errorf("%w: smtp: to needs at least one address", ErrConfig)
	}
	for _, a := range m.to {
		if _, err := mail.ParseAddress(a); err != nil {
			return nil, fmt.Errorf("%w: smtp: to %q: %w", ErrConfig, a, err)
		}
	}
	if m.helo == "" {
		m.helo = node
	}
	if strings.ContainsAny(m.helo, " \r\n") {
		return nil, fmt.Errorf("%w: smtp: helo %q must be one word", ErrConfig, m.helo)
	}
	if m.connectTimeout == 0 {
		m.connectTimeout = DefaultConnectTimeout
	}
	if m.connectTimeout < 0 {
		return nil, fmt.Errorf("%w: smtp: negative connect_timeout", ErrConfig)
	}
	return m, nil
}

func (c *WebhookConfig) settings() (*webhookSettings, error) {
	w := &webhookSettings{url: c.URL, retries: DefaultRetries, timeout: time.Duration(c.Timeout), backoff: time.Duration(c.Backoff)}
	u, err := url.Parse(w.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: webhook: url %q: want an http:// or https:// URL", ErrConfig, w.url)
	}
	if c.Retries != nil {
		w.retries = *c.Retries
	}
	if w.timeout == 0 {
		w.timeout = DefaultWebhookTimeout
	}
	if w.backoff == 0 {
		w.backoff = DefaultBackoff
	}
	if w.retries < 0 || w.retries > 100 || w.timeout < 0 || w.backoff < 0 {
		return nil, fmt.Errorf("%w: webhook: retries must be 0..100, timeout and backoff not negative", ErrConfig)
	}
	return w, nil
}

// Schema is the declared `config {}` block.
func Schema() sdk.Schema { return sdk.SchemaOf[Config]() }

// Duration is a config duration ("250ms"); see sdk.Duration.
type Duration = sdk.Duration
