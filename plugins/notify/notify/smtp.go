package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"net"
	"net/smtp"
	"strconv"
	"strings"
	"time"
)

// sendMail delivers one mail about ev: a plain SMTP dialogue (EHLO/HELO,
// MAIL, RCPT, DATA, QUIT) as keepalived's smtp_server alerts. connect
// timeout bounds the TCP connect; the call's deadline bounds the rest.
func sendMail(ctx context.Context, s *smtpSettings, ev event, now time.Time) error {
	d := net.Dialer{Timeout: s.connectTimeout}
	conn, err := d.DialContext(ctx, "tcp", s.server)
	if err != nil {
		return fmt.Errorf("connect %s: %w", s.server, err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	host, _, _ := net.SplitHostPort(s.server)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("%s: greeting: %w", s.server, err)
	}
	defer c.Close()
	if err := c.Hello(s.helo); err != nil {
		return fmt.Errorf("%s: HELO: %w", s.server, err)
	}
	if err := c.Mail(s.from); err != nil {
		return fmt.Errorf("%s: MAIL FROM: %w", s.server, err)
	}
	for _, to := range s.to {
		if err := c.Rcpt(to); err != nil {
			return fmt.Errorf("%s: RCPT TO %s: %w", s.server, to, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("%s: DATA: %w", s.server, err)
	}
	if _, err := w.Write(message(s, ev, now)); err != nil {
		return fmt.Errorf("%s: DATA: %w", s.server, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("%s: end of DATA: %w", s.server, err)
	}
	// The mail is accepted; a failed QUIT changes nothing for it.
	_ = c.Quit()
	return nil
}

// subject is "[hawatch] VI_1 BACKUP -> MASTER on lb1" (or "group G1 ...").
func subject(ev event) string {
	name := ev.Name
	if ev.Kind == "GROUP" {
		name = "group " + name
	}
	return fmt.Sprintf("[hawatch] %s %s -> %s on %s", oneLine(name), oneLine(ev.From), oneLine(ev.To), oneLine(ev.Node))
}

// message renders the mail with CRLF line ends; the DATA writer does the
// dot-stuffing.
func message(s *smtpSettings, ev event, now time.Time) []byte {
	var b strings.Builder
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	h("From", s.from)
	h("To", strings.Join(s.to, ", "))
	h("Subject", mime.QEncoding.Encode("utf-8", subject(ev)))
	h("Date", now.Format(time.RFC1123Z))
	h("Message-ID", "<"+messageID(now)+"@"+oneLine(s.helo)+">")
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "8bit")
	if ev.Instance != "" {
		h("X-Hawatch-Instance", oneLine(ev.Instance))
	}
	b.WriteString("\r\n")

	line := func(k, v string) { fmt.Fprintf(&b, "%-10s %s\r\n", k+":", oneLine(v)) }
	if ev.Instance != "" {
		line("Instance", ev.Instance)
	}
	if ev.Group != "" {
		line("Group", ev.Group)
	}
	line("Node", ev.Node)
	line("Old state", ev.From)
	line("New state", ev.To)
	line("Priority", strconv.Itoa(ev.Priority))
	line("Reason", ev.Reason)
	line("Time", ev.At.UTC().Format(time.RFC3339Nano))
	return []byte(b.String())
}

func messageID(now time.Time) string {
	r := make([]byte, 6)
	_, _ = rand.Read(r)
	return strconv.FormatInt(now.UnixNano(), 36) + "." + hex.EncodeToString(r)
}
