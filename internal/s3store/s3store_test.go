//go:build s3

// These tests need a real S3 server: SeaweedFS, built once per machine by
// .ci/build-seaweedfs (about 7 minutes on 2 cores). `make test-s3` builds
// it and runs them; SWITCHBOARD_SEAWEEDFS names the binary.
package s3store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/redistest"
	"github.com/switchboard/switchboard/internal/s3store"
)

const (
	accessKey = "switchboardtest"
	secretKey = "f3b1c2d4e5a6978812345678abcdef01"
)

// seaweed starts `weed server` with S3 on free loopback ports, one identity
// with accessKey/secretKey, and returns the S3 endpoint.
func seaweed(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("SWITCHBOARD_SEAWEEDFS")
	if bin == "" {
		t.Fatal("SWITCHBOARD_SEAWEEDFS is not set: run `make test-s3`, which builds SeaweedFS once with .ci/build-seaweedfs")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "s3.json")
	ident := fmt.Sprintf(`{"identities":[{"name":"switchboard","credentials":[{"accessKey":%q,"secretKey":%q}],"actions":["Admin","Read","Write","List","Tagging"]}]}`, accessKey, secretKey)
	if err := os.WriteFile(conf, []byte(ident), 0o600); err != nil {
		t.Fatal(err)
	}
	// SeaweedFS listens for gRPC on each port + 10000, so both must be free.
	ports := freePairs(t, 4)
	s3port := ports[0]
	cmd := exec.Command(bin, "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-dir="+dir,
		"-master.port="+strconv.Itoa(ports[1]), "-volume.port="+strconv.Itoa(ports[2]),
		"-filer.port="+strconv.Itoa(ports[3]), "-s3", "-s3.port="+strconv.Itoa(s3port), "-s3.config="+conf,
		"-master.volumeSizeLimitMB=64", "-volume.max=8")
	logf, err := os.Create(filepath.Join(dir, "weed.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logf.Close()
	})
	url := "http://127.0.0.1:" + strconv.Itoa(s3port) + "/attachments"
	st, err := s3store.New(s3store.Config{URL: url, AccessKey: accessKey, SecretKey: secretKey})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = st.CreateBucket(ctx)
		cancel()
		if err == nil {
			return url
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "weed.log"))
			if len(log) > 2000 {
				log = log[len(log)-2000:]
			}
			t.Fatalf("SeaweedFS S3 not ready after 60 s: %v\n%s", err, log)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func freePairs(t *testing.T, n int) []int {
	t.Helper()
	var out []int
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for p := 20000 + os.Getpid()%9000; len(out) < n && p < 55000; p += 7 {
		a, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		b, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+10000))
		if err != nil {
			a.Close()
			continue
		}
		held = append(held, a, b)
		out = append(out, p)
	}
	if len(out) < n {
		t.Fatal("no free port pairs")
	}
	return out
}

func store(t *testing.T, url string) *s3store.Store {
	t.Helper()
	st, err := s3store.New(s3store.Config{URL: url, AccessKey: accessKey, SecretKey: secretKey})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestStorePutOpenStat(t *testing.T) {
	ctx := context.Background()
	url := seaweed(t)
	st := store(t, url)
	body := bytes.Repeat([]byte("switchboard "), 1000)
	n, err := st.Put(ctx, "2026/12/k1-a.txt", "text/plain", bytes.NewReader(body), 1<<20)
	if err != nil || n != int64(len(body)) {
		t.Fatalf("put: %d, %v", n, err)
	}
	f, info, err := st.Open(ctx, "2026/12/k1-a.txt")
	if err != nil || info.Size != int64(len(body)) {
		t.Fatalf("open: %+v, %v", info, err)
	}
	// http.ServeContent seeks for ranges: seek and read the tail.
	if _, err := f.Seek(-12, io.SeekEnd); err != nil {
		t.Fatal(err)
	}
	tail, _ := io.ReadAll(f)
	f.Close()
	if string(tail) != "switchboard " {
		t.Fatalf("tail %q", tail)
	}
	if _, err := st.Stat(ctx, "2026/12/nope"); !errors.Is(err, conversation.ErrNotFound) {
		t.Fatalf("stat of a missing key: %v", err)
	}
	if _, _, err := st.Open(ctx, "2026/12/nope"); !errors.Is(err, conversation.ErrNotFound) {
		t.Fatalf("open of a missing key: %v", err)
	}
	if _, err := st.Put(ctx, "2026/12/big", "", bytes.NewReader(make([]byte, 101)), 100); !errors.Is(err, conversation.ErrTooLarge) {
		t.Fatalf("oversized: %v", err)
	}
	if _, err := st.Stat(ctx, "2026/12/big"); !errors.Is(err, conversation.ErrNotFound) {
		t.Fatalf("an oversized file was kept: %v", err)
	}
	// Wrong keys are refused: the bucket is not open to anyone who asks.
	bad, err := s3store.New(s3store.Config{URL: url, AccessKey: accessKey, SecretKey: "wrong" + secretKey})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := bad.Open(ctx, "2026/12/k1-a.txt"); err == nil || errors.Is(err, conversation.ErrNotFound) {
		t.Fatalf("open with a wrong secret: %v; want refused", err)
	}
}

type nopRouter struct{}

func (nopRouter) Enqueue(context.Context, conversation.RouteRequest) error     { return nil }
func (nopRouter) Abandon(context.Context, string) error                        { return nil }
func (nopRouter) Close(context.Context, string, string) error                  { return nil }
func (nopRouter) Transfer(context.Context, conversation.TransferRequest) error { return nil }

// readingSender is a channel that sends attachments' bytes, as email
// does: it reads each through its own gateway's service.
type readingSender struct {
	gateway string
	svc     **conversation.Service
	mu      *sync.Mutex
	sent    *[]string
}

func (s readingSender) Send(ctx context.Context, out channel.Outbound) (channel.SendResult, error) {
	for _, a := range out.Attachments {
		f, _, err := (*s.svc).OpenAttachment(ctx, a.StoredPath)
		if err != nil {
			return channel.SendResult{}, err
		}
		b, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			return channel.SendResult{}, err
		}
		s.mu.Lock()
		*s.sent = append(*s.sent, s.gateway+":"+string(b))
		s.mu.Unlock()
	}
	return channel.SendResult{ProviderID: "x" + out.MessageID, Status: "sent"}, nil
}

// TestAttachmentUploadedOnOneGatewayIsServedAndSentByAnother: gateway A
// stores the file, gateway B reads it and takes a reply carrying it, and
// whichever outbox claims the reply sends the file's bytes.
func TestAttachmentUploadedOnOneGatewayIsServedAndSentByAnother(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url := seaweed(t)
	rs := redistest.Start(t, redistest.Options{})
	var mu sync.Mutex
	var sent []string
	svcs := map[string]*conversation.Service{}
	ptrs := map[string]**conversation.Service{}
	for _, gw := range []string{"A", "B"} {
		var svc *conversation.Service
		ptrs[gw] = &svc
		sender := readingSender{gateway: gw, svc: ptrs[gw], mu: &mu, sent: &sent}
		s, err := conversation.New(conversation.Params{
			Redis: rs.NewClient(t), Workspace: "s3", Router: nopRouter{}, Attachments: store(t, url),
			Senders: map[channel.Name]conversation.Sender{channel.SMS: sender},
			Outbox:  conversation.OutboxConfig{Poll: 10 * time.Millisecond},
		})
		if err != nil {
			t.Fatal(err)
		}
		svc = s
		svcs[gw] = s
		go func() { _ = s.Run(ctx) }()
	}
	a, err := svcs["A"].StoreAttachment(ctx, "invoice.pdf", "application/pdf", bytes.NewReader([]byte("%PDF-1.7 the invoice")))
	if err != nil {
		t.Fatal(err)
	}
	f, info, err := svcs["B"].OpenAttachment(ctx, a.StoredPath)
	if err != nil || info.Size != a.Size {
		t.Fatalf("gateway B opening A's upload: %+v, %v", info, err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != "%PDF-1.7 the invoice" {
		t.Fatalf("gateway B read %q", b)
	}
	r, err := svcs["A"].Receive(ctx, channel.Inbound{Channel: channel.SMS, From: "+14155550101",
		To: "+14155550000", Text: "send me the invoice", ProviderID: "SM-s3-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svcs["B"].Reply(ctx, r.ConversationID, "ana", "here it is", []channel.Attachment{a}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		got := append([]string(nil), sent...)
		mu.Unlock()
		if len(got) == 1 && (got[0] == "A:%PDF-1.7 the invoice" || got[0] == "B:%PDF-1.7 the invoice") {
			time.Sleep(100 * time.Millisecond) // and never a second time
			mu.Lock()
			n := len(sent)
			mu.Unlock()
			if n != 1 {
				t.Fatalf("sent %d times", n)
			}
			t.Logf("sent by gateway %s", got[0][:1])
			return
		}
		if len(got) > 1 || time.Now().After(deadline) {
			t.Fatalf("sent = %q; want the invoice once", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
