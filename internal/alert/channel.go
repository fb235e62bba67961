package alert

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/smtp"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// Channel is a configured destination.
type Channel struct {
	Name string `json:"name" yaml:"name"`
	Type string `json:"type" yaml:"type"` // webhook, slack or email
	// URL of a webhook or Slack incoming webhook.
	URL string `json:"url,omitempty" yaml:"url"`
	// Secret signs webhook bodies: header X-Mamori-Signature: sha256=HEX
	// of HMAC-SHA256(secret, timestamp + "." + body), with the timestamp in
	// X-Mamori-Timestamp.
	Secret string `json:"-" yaml:"secret"`
	// SMTP settings for email.
	SMTPHost    string   `json:"smtp_host,omitempty" yaml:"smtp_host"`
	SMTPPort    int      `json:"smtp_port,omitempty" yaml:"smtp_port"`
	Username    string   `json:"username,omitempty" yaml:"username"`
	Password    string   `json:"-" yaml:"password"`
	From        string   `json:"from,omitempty" yaml:"from"`
	To          []string `json:"to,omitempty" yaml:"to"`
	StartTLS    *bool    `json:"starttls,omitempty" yaml:"starttls"`         // default true
	TLSInsecure bool     `json:"tls_insecure,omitempty" yaml:"tls_insecure"` // skip certificate checks (test servers only)
	// Template renders the text (Slack text, e-mail body); Go text/template
	// over the Message. Empty means the default.
	Template string `json:"template,omitempty" yaml:"template"`
	// MinSeverity filters what the channel receives (default low).
	MinSeverity string `json:"min_severity,omitempty" yaml:"min_severity"`
}

// Message is what a notification says. Data carries the object (incident)
// for webhooks and templates.
type Message struct {
	Kind     string    `json:"kind"` // incident.created, incident.escalated, test
	Title    string    `json:"title"`
	Severity string    `json:"severity"`
	Time     time.Time `json:"time"`
	URL      string    `json:"url,omitempty"`
	Data     any       `json:"data,omitempty"`
}

const defaultTemplate = `[{{.Severity | upper}}] {{.Title}}
{{.Kind}} at {{.Time.Format "2006-01-02 15:04:05 MST"}}{{if .URL}}
{{.URL}}{{end}}`

var funcs = template.FuncMap{"upper": strings.ToUpper}

// Validate reports every problem of a channel definition.
func (c *Channel) Validate() error {
	var probs []string
	if c.Name == "" {
		probs = append(probs, "name: required")
	}
	switch c.Type {
	case "webhook", "slack":
		if !strings.HasPrefix(c.URL, "http://") && !strings.HasPrefix(c.URL, "https://") {
			probs = append(probs, "url: want an http(s) URL")
		}
	case "email":
		if c.SMTPHost == "" {
			probs = append(probs, "smtp_host: required")
		}
		if c.From == "" || len(c.To) == 0 {
			probs = append(probs, "from and to: required")
		}
	default:
		probs = append(probs, fmt.Sprintf("type %q: want webhook, slack or email", c.Type))
	}
	if c.Template != "" {
		if _, err := template.New("t").Funcs(funcs).Parse(c.Template); err != nil {
			probs = append(probs, "template: "+err.Error())
		}
	}
	if len(probs) > 0 {
		return fmt.Errorf("channel %s: %s", c.Name, strings.Join(probs, "; "))
	}
	return nil
}

func (c *Channel) render(m Message) (string, error) {
	text := c.Template
	if text == "" {
		text = defaultTemplate
	}
	t, err := template.New("t").Funcs(funcs).Parse(text)
	if err != nil {
		return "", fmt.Errorf("template: %w", err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, m); err != nil {
		return "", fmt.Errorf("template: %w", err)
	}
	return b.String(), nil
}

// errPermanent marks failures a retry cannot fix (4xx answers, bad config).
var errPermanent = errors.New("permanent failure")

// send delivers one message.
func (c *Channel) send(ctx context.Context, hc *http.Client, m Message, now time.Time) error {
	switch c.Type {
	case "webhook":
		body, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("%w: encode: %v", errPermanent, err)
		}
		hdr := http.Header{"Content-Type": {"application/json"}}
		if c.Secret != "" {
			ts := strconv.FormatInt(now.Unix(), 10)
			mac := hmac.New(sha256.New, []byte(c.Secret))
			mac.Write([]byte(ts + "."))
			mac.Write(body)
			hdr.Set("X-Mamori-Timestamp", ts)
			hdr.Set("X-Mamori-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		}
		return post(ctx, hc, c.URL, hdr, body)
	case "slack":
		text, err := c.render(m)
		if err != nil {
			return fmt.Errorf("%w: %v", errPermanent, err)
		}
		body, _ := json.Marshal(map[string]string{"text": text}) // a string map always marshals
		return post(ctx, hc, c.URL, http.Header{"Content-Type": {"application/json"}}, body)
	case "email":
		text, err := c.render(m)
		if err != nil {
			return fmt.Errorf("%w: %v", errPermanent, err)
		}
		return c.sendMail(ctx, m, text, now)
	}
	return fmt.Errorf("%w: unknown channel type %q", errPermanent, c.Type)
}

// VerifySignature checks a webhook signature (for receivers and tests).
func VerifySignature(secret, timestamp, signature string, body []byte) bool {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp + "."))
	mac.Write(body)
	return hmac.Equal([]byte(signature), []byte("sha256="+hex.EncodeToString(mac.Sum(nil))))
}

func post(ctx context.Context, hc *http.Client, url string, hdr http.Header, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %v", errPermanent, err)
	}
	req.Header = hdr
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512)) // for the error message only
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(snippet))
	default:
		return fmt.Errorf("%w: HTTP %d: %s", errPermanent, resp.StatusCode, bytes.TrimSpace(snippet))
	}
}

// sendMail speaks SMTP with STARTTLS (unless turned off) and AUTH PLAIN
// when a user name is set.
func (c *Channel) sendMail(ctx context.Context, m Message, text string, now time.Time) error {
	port := c.SMTPPort
	if port == 0 {
		port = 587
	}
	addr := net.JoinHostPort(c.SMTPHost, strconv.Itoa(port))
	d := net.Dialer{Timeout: 15 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("smtp dial: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl) // bounded by ctx
	} else {
		_ = conn.SetDeadline(time.Now().Add(time.Minute)) // never hang on a mute server
	}
	cl, err := smtp.NewClient(conn, c.SMTPHost)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp: %w", err)
	}
	defer cl.Close()
	if c.StartTLS == nil || *c.StartTLS {
		if ok, _ := cl.Extension("STARTTLS"); !ok {
			return fmt.Errorf("%w: smtp server %s does not offer STARTTLS (set starttls: false to send in clear)", errPermanent, addr)
		}
		// #nosec G402 -- tls_insecure is an explicit, documented opt-in for test servers.
		if err := cl.StartTLS(&tls.Config{ServerName: c.SMTPHost, InsecureSkipVerify: c.TLSInsecure, MinVersion: tls.VersionTLS12}); err != nil {
			return fmt.Errorf("smtp starttls: %w", err)
		}
	}
	if c.Username != "" {
		if err := cl.Auth(smtp.PlainAuth("", c.Username, c.Password, c.SMTPHost)); err != nil {
			return fmt.Errorf("%w: smtp auth: %v", errPermanent, err)
		}
	}
	if err := cl.Mail(c.From); err != nil {
		return fmt.Errorf("smtp MAIL FROM: %w", err)
	}
	for _, to := range c.To {
		if err := cl.Rcpt(to); err != nil {
			return fmt.Errorf("smtp RCPT TO %s: %w", to, err)
		}
	}
	w, err := cl.Data()
	if err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	subject := fmt.Sprintf("[Mamori %s] %s", strings.ToUpper(m.Severity), m.Title)
	fmt.Fprintf(w, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
		c.From, strings.Join(c.To, ", "), mimeHeader(subject), now.Format(time.RFC1123Z))
	w.Write([]byte(strings.ReplaceAll(text, "\n", "\r\n") + "\r\n"))
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp DATA end: %w", err)
	}
	return cl.Quit()
}

// mimeHeader keeps a header on one line without control characters and
// encodes non-ASCII text (RFC 2047).
func mimeHeader(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 {
			return ' '
		}
		return r
	}, s)
	return mime.QEncoding.Encode("utf-8", s)
}
