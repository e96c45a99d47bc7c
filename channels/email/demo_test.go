package email

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// demoPage is the console's email panel on its own: the real email.js and
// email.css of the agent console, the elements they draw into, and one
// conversation loaded from the channel's real routes.
const demoPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Email conversation</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="/agent/console.css"><link rel="stylesheet" href="/agent/email.css">
<style>body{margin:0;font-family:system-ui,sans-serif} .wrap{max-width:900px;margin:0 auto;display:grid;gap:8px;padding:12px}</style>
</head><body><div class="wrap">
<section class="email-thread" id="email-thread" aria-label="Mail" hidden></section>
<form class="composer" id="composer"><div class="email-fields" id="email-fields" hidden>
<label>Subject <input id="email-subject-field" readonly></label>
<label>Cc <input id="email-cc" type="text"></label></div>
<textarea id="reply-text" rows="3" placeholder="Reply by email…"></textarea></form>
</div>
<script type="module">
import { EmailView } from '/agent/js/email.js';
const conv = new URLSearchParams(location.search).get('conv');
const v = new EmailView(() => 'demo');
window.__view = v;
v.render({ id: conv, channel: 'email', messages: [] });
</script></body></html>`

// hostileMail carries what must never run in the console.
var hostileMail = rawMail([][2]string{
	{"From", "Mallory <mallory@example.com>"}, {"To", supportAddr}, {"Cc", "Trent <trent@example.com>"},
	{"Subject", "Refund <b>now</b>"}, {"Message-ID", "<hostile-1@example.com>"},
	{"Date", "Tue, 01 Dec 2026 10:00:00 +0000"}, {"MIME-Version", "1.0"},
	{"Content-Type", `multipart/mixed; boundary="b"`},
}, `--b
Content-Type: multipart/alternative; boundary="a"

--a
Content-Type: text/plain; charset=utf-8

Please refund order 1234.

On Mon, 30 Nov 2026 at 09:00, Shop Support <support@shop.example> wrote:
> Which order?
--a
Content-Type: text/html; charset=utf-8

<p>Please <b>refund</b> order 1234.<script>parent.__xss='script'</script>
<img src=x onerror="parent.__xss='onerror'"><a href="javascript:parent.__xss='href'">click</a>
<iframe src="https://evil.example/"></iframe><svg onload="parent.__xss='svg'"></svg></p>
<div class="gmail_quote">On Mon, 30 Nov 2026 at 09:00, Shop Support wrote:<blockquote>Which order?</blockquote></div>
--a--
--b
Content-Type: application/pdf
Content-Disposition: attachment; filename="invoice.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQKJcOkw7zDtsOfCg==
--b--
`)

// TestServeEmailDemo is not a test but the server e2e/email.test.mjs
// drives: it stores hostileMail through the channel (real Redis, real
// conversation service) and serves the console's files and the channel's
// routes. It runs only when EMAIL_DEMO_ADDR is set, prints
// "LISTENING <url> CONV <id>" and serves until SIGTERM or
// EMAIL_DEMO_SECONDS (default 600).
func TestServeEmailDemo(t *testing.T) {
	addr := os.Getenv("EMAIL_DEMO_ADDR")
	if addr == "" {
		t.Skip("EMAIL_DEMO_ADDR not set: this is the e2e demo server, not a test")
	}
	e := &env{t: t, rdb: server.NewClient(t), ws: workspace(t)}
	t.Setenv("TEST_IMAP_PASSWORD", supportPass)
	e.cfg = mailboxConfig(1, "127.0.0.1:1")
	e.build(t)
	ctx := context.Background()
	if _, err := e.ch.ingest(ctx, &e.ch.cfg.Mailboxes[0], hostileMail, time.Now()); err != nil {
		t.Fatal(err)
	}
	conv := customerConv(t, e, "mallory@example.com")
	srv := echo.New()
	srv.HideBanner, srv.HidePort = true, true
	e.ch.Register(srv)
	srv.GET("/agent/*", echo.WrapHandler(http.StripPrefix("/agent/", http.FileServer(http.Dir("../../agentui/static")))))
	srv.GET("/", func(c echo.Context) error { return c.HTML(http.StatusOK, demoPage) })
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("LISTENING http://%s CONV %s\n", l.Addr(), conv)
	secs, _ := strconv.Atoi(os.Getenv("EMAIL_DEMO_SECONDS"))
	if secs <= 0 {
		secs = 600
	}
	sctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	sctx, cancel := context.WithTimeout(sctx, time.Duration(secs)*time.Second)
	defer cancel()
	go func() { <-sctx.Done(); _ = srv.Close() }()
	srv.Listener = l
	_ = srv.Start("")
}
